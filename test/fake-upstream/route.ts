import type { FakeObjectStore } from "./objects.ts";
import type { Responder } from "./responder.ts";
import type { Behaviour, BehaviourError, ProviderKeys } from "./types.ts";

export type JsonObject = Record<string, unknown>;

export interface RequestContext {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  /** Parsed JSON body of a POST (the provider answered 400 already when it did not parse); {} for raw-body routes. */
  body: JsonObject;
  bodyText: string;
  /** Files and batches kept under the key (shared by every caller of this fake). */
  objects: FakeObjectStore;
  /** Capture groups of the route's path pattern. */
  params: string[];
  behaviour: Behaviour;
  responder: Responder;
  /** Answers with the provider's 400 invalid-request error. */
  reject(message: string): Promise<void>;
}

/** The request line and body exactly as they arrived (a SigV4 signature covers them). */
export interface ArrivedRequest {
  method: string;
  /** Path as on the request line, escapes kept. */
  rawPath: string;
  /** Query string with its "?", or "". */
  search: string;
  host: string;
  body: Uint8Array;
}

export interface ErrorReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface Route {
  method: "GET" | "POST" | "DELETE";
  pattern: RegExp;
  /** The body is not JSON (multipart uploads): it is not parsed. */
  rawBody?: boolean;
  handle(ctx: RequestContext): Promise<void>;
}

/** One fake provider: its routes, its key check and how it spells an error. */
export interface ProviderApi {
  name: keyof ProviderKeys;
  routes: Route[];
  /** Whether a request to a path both providers serve (GET /v1/models) is meant for this one. */
  claims?(headers: Record<string, string>): boolean;
  /**
   * The provider's own rejection when the key (or signature, or token) is missing or wrong;
   * undefined when accepted. `request` is the request as it arrived, for a signature over it.
   */
  authenticate(headers: Record<string, string>, query: URLSearchParams, key: string, request: ArrivedRequest): ErrorReply | undefined | Promise<ErrorReply | undefined>;
  /** The error body for a behaviour's `status`/`error`, or for a fake-detected bad request. */
  errorReply(status: number | undefined, error: BehaviourError | undefined): ErrorReply;
  notFound(method: string, path: string): ErrorReply;
  invalidRequest(message: string): ErrorReply;
}

export const stringField = (body: JsonObject, key: string): string | undefined => {
  const value = body[key];
  return typeof value === "string" ? value : undefined;
};
