import type { ProviderId } from "../config/index.ts";
import type { GatewayError } from "../core/errors.ts";
import type { WireFormat } from "../usage/types.ts";

export type JsonObject = Record<string, unknown>;

/** What the gateway needs to know about one request to meter and rewrite it. */
export interface RequestShape {
  format: WireFormat;
  /** Model id as the client asked for it (body `model`, or Gemini's path segment). */
  model: string | undefined;
  streaming: boolean;
  /** Short endpoint name for the ledger: messages, count_tokens, chat, responses, generate, embeddings, other. */
  endpoint: string;
}

/** How the real provider key travels to the upstream. */
export type KeyPlacement = "x-api-key" | "authorization-bearer" | "x-goog-api-key";

/**
 * A provider is data: where it lives, how its key is sent, how to read its requests, and
 * how it spells an error. Adding an OpenAI-compatible provider is a descriptor, not code.
 */
export interface ProviderDescriptor {
  id: ProviderId;
  displayName: string;
  /** Path prefix on the gateway; everything after it is appended to the upstream base URL. */
  routePrefix: string;
  defaultUpstream: string | undefined;
  defaultApiKeyEnv: string;
  /** models.dev provider id for prices and model lists, when there is an obvious one. */
  defaultCatalogProvider: string | undefined;
  keyPlacement: KeyPlacement;
  /** Whether a request without a configured key may still be forwarded (local open-weight servers). */
  keyOptional: boolean;
  classify(method: string, path: string, search: string, body: JsonObject | undefined): RequestShape;
  /** Put the caller's anonymous id where the provider expects an end-user id; returns true if the body changed. */
  setEndUser(body: JsonObject, shape: RequestShape, anonymousId: string): boolean;
  /** The provider's own error body, so the client's SDK shows our message. */
  errorBody(error: GatewayError, requestId: string): JsonObject;
  /** One SSE event (with its trailing blank line) announcing a failure mid-stream, in the provider's format. */
  streamErrorEvent(message: string): string;
}
