import type { GatewayError } from "../core/errors.ts";
import type { WireFormat } from "../usage/types.ts";
import type { ProviderId } from "./ids.ts";
import type { AiGatewayRoute } from "./ai-gateway.ts";

export type JsonObject = Record<string, unknown>;

export type EndpointMethod = "GET" | "POST" | "PATCH" | "DELETE";

/** Provider-side objects: data the provider keeps under the org's key, denied unless the org enables the kind. */
export type ObjectKind = "files" | "batches" | "stored_responses" | "stored_completions" | "cached_contents" | "vector_stores" | "fine_tuning" | "conversations" | "uploads";
export type ObjectAction = "create" | "list" | "read" | "update" | "delete";

/** Where the caller's anonymous id goes in the body (the provider's own end-user field). */
export type EndUserField = "metadata.user_id" | "safety_identifier" | "user";

/**
 * One endpoint a provider route serves. Anything not declared is refused (404) unless the
 * org config lists it under `providers.<id>.passThrough`.
 */
export interface EndpointSpec {
  /** Short name for the ledger and the docs table: messages, chat, responses, generate, files.list… */
  name: string;
  method: EndpointMethod;
  /**
   * Path after the provider's API prefix: literal segments, `{model}` (one segment, no ":"),
   * `{modelId}` (one segment, ":" allowed: Bedrock's `anthropic.claude-…-v1:0`), `{id}` (one
   * segment, no ":") and `{any}` (one segment, no ":", not read: Vertex's project and location,
   * which the gateway replaces) placeholders, e.g. `/models/{model}:generateContent`.
   */
  path: string;
  /** json: parsed (415 for another media type, 400 when it does not parse); none: no body; raw: bytes pass unread (uploads only). */
  body: "json" | "none" | "raw";
  /** How the response is read for usage. */
  format: WireFormat;
  /** Where the model id is read: the JSON body's `model`, the `{model}` or `{modelId}` path segment, or nowhere. */
  model: "body" | "path" | "none";
  /** body: `"stream": true` in the body; alt-sse: the `alt=sse` query parameter (the answer streams either way); always: the endpoint streams (Bedrock's `…-stream`, Vertex's `:streamRawPredict`); never. */
  streaming: "body" | "alt-sse" | "always" | "never";
  /** Produces billable tokens: admitted against budgets and rate limits, priced in the ledger. */
  metered: boolean;
  /** Query parameters accepted, with the values allowed ("any" for free text, or a pattern). Others are refused. */
  query: Readonly<Record<string, readonly string[] | "any" | QueryPattern>>;
  /** Query parameters the endpoint is not served without (Azure's `api-version` on its deployments API): a request lacking one is refused with 404, as the provider answers it. */
  requiredQuery?: readonly string[] | undefined;
  /** The provider-side object this endpoint creates, lists, reads or deletes. */
  object?: { kind: ObjectKind; action: ObjectAction } | undefined;
  endUser?: EndUserField | undefined;
  /**
   * The provider keeps the conversation when asked (`store: true`) or by default: the
   * gateway sends `store: false` and refuses what would create or read stored state
   * (src/proxy/objects.ts keepStateless; zero data retention relies on the same field).
   */
  conversationState?: "stored-by-default" | "stored-on-request" | undefined;
  /**
   * The endpoint is a WebSocket upgrade (the Responses API's WebSocket mode); each client
   * message is governed as the endpoint of this name (POST /responses).
   */
  websocket?: string | undefined;
}

/**
 * A client wire format several providers serve exactly, request and answer (Anthropic's
 * Messages API: Anthropic direct, Claude on Vertex AI's rawPredict, Claude on Bedrock's
 * InvokeModel; OpenAI's Chat Completions and Responses: OpenAI and Azure OpenAI's v1 API).
 * Fallback routing may cross from one provider of a family to another.
 */
export type WireFamily = "anthropic-messages" | "openai";

/**
 * Where a provider stands in a wire family: `source` — its clients' requests to `endpoints`
 * may be served by a `target` of the same family (the gateway translates path, body and
 * answer, src/proxy/cross-provider.ts); `target` — a fallback attempt may be sent here, to
 * the models `servesModel` accepts (Bedrock serves Claude's Messages body only for Claude).
 */
export interface WireFamilyMembership {
  family: WireFamily;
  role: "source" | "target";
  /** The endpoints (by name) that speak the family on this provider. */
  endpoints: readonly string[];
  servesModel?(model: string): boolean;
}

/** A query value accepted by its shape (Azure's dated `api-version`, e.g. `2024-10-21`); `example` is shown when a value does not match. */
export interface QueryPattern {
  pattern: RegExp;
  example: string;
}

/** What the gateway knows about one request once it matched a declared endpoint. */
export interface RequestShape {
  /** The endpoint's name (ledger `endpoint`); "passthrough" for org-listed pass-through paths. */
  endpoint: string;
  format: WireFormat;
  /**
   * Model id as the client asked for it (body `model`, or Gemini's path segment); on a
   * provider whose models are deployments (Azure OpenAI), the model the named deployment serves.
   */
  model: string | undefined;
  /** The deployment the client named (Azure OpenAI: the path's deployment, or the v1 body's `model`). */
  deployment?: string | undefined;
  streaming: boolean;
  metered: boolean;
  /** Provider-side object the request touches, with the `{id}` segment when the path has one. */
  object?: { kind: ObjectKind; action: ObjectAction; id: string | undefined } | undefined;
  endUser?: EndUserField | undefined;
  conversationState?: EndpointSpec["conversationState"];
}

/** How the real provider key travels to the upstream. */
export type KeyPlacement = "x-api-key" | "authorization-bearer" | "x-goog-api-key" | "api-key";

/**
 * How the gateway proves itself to the upstream: the provider key in `keyPlacement`, an AWS
 * SigV4 signature over each request (credentials from the standard AWS sources), or a Google
 * OAuth access token minted from a service-account key. The last two never come from a client.
 */
export type UpstreamAuthKind = "key" | "aws-sigv4" | "google-service-account";

/** The cloud account a route is configured with (`providers.<id>` in gatehouse.yaml). */
export interface CloudAccount {
  /** AWS region (Bedrock). */
  region: string | undefined;
  /** Google Cloud project id (Vertex AI). */
  project: string | undefined;
  /** Google Cloud location, e.g. `us-east5` or `global` (Vertex AI). */
  location: string | undefined;
  /** Azure resource name, the `<resource>` of `https://<resource>.openai.azure.com` (Azure OpenAI). */
  resource?: string | undefined;
}

/** Where a cloud route's requests go: the account's default base URL, and the forwarded path with the account put in. */
export interface CloudUpstream {
  defaultBase: string;
  /** The canonical forward path with the org's account in it; throws not_found for a path that has no place for it. */
  forwardPath(path: string): string;
}

/**
 * A provider is data: where it lives, how its key is sent, which endpoints it serves and
 * how, and how it spells an error. Config, policy, discovery, ZDR and the docs read this.
 */
export interface ProviderDescriptor {
  id: ProviderId;
  displayName: string;
  /** Path prefix on the gateway; everything after it is appended to the upstream base URL. */
  routePrefix: string;
  /** Base path (under the gateway) that clients' SDKs are given, e.g. `/openai/v1`. */
  clientBasePath: string;
  /** OpenCode's id for this provider (its bundled model metadata applies under that id). */
  opencodeId: string;
  /**
   * What discovery serves OpenCode beyond the base URL: the AI SDK package when OpenCode has
   * no built-in one for this id, the name shown when the org gives none, and model options
   * that keep an answer off the provider's servers under zero data retention.
   */
  opencode: {
    npm?: string;
    defaultName?: string;
    zdrModelOptions?: Readonly<Record<string, unknown>>;
    /**
     * The `apiKey` served instead of "" when OpenCode's SDK for this provider would otherwise
     * sign with cloud credentials the developer does not have: a non-empty key makes it send a
     * header the gateway strips (the gateway token travels in cf-access-token). Not a secret.
     */
    apiKeyPlaceholder?: string;
    /** Provider options OpenCode's SDK needs beyond the base URL (e.g. the project it will not start without). */
    options?: Readonly<Record<string, string>>;
    /** The base path served when OpenCode's SDK appends less than `clientBasePath` expects (Vertex's publisher path). */
    basePath?: string;
    /** Which of the catalog's models OpenCode's SDK for this provider can call (Vertex's lists Claude, which its Gemini SDK cannot). */
    servesModel?(id: string): boolean;
  };
  /** A base URL the config's error hints show as an example for `upstream`. */
  upstreamExample: string;
  /**
   * The OpenTelemetry GenAI conventions' `gen_ai.provider.name` for this route (e.g. `gcp.gemini`);
   * a route that fronts servers the gateway cannot name keeps its own id.
   */
  genAiProviderName: string;
  /** How the dashboard splits spend: hosted frontier models, or open-weight ones the org runs or rents. */
  modelClass: "frontier" | "open-weight";
  /**
   * On providers that serve Chat Completions, the field that caps the answer, for callers that
   * build bodies (the reviewer): OpenAI's reasoning models reject `max_tokens`; many compatible
   * servers know only it.
   */
  chatMaxTokensField?: "max_tokens" | "max_completion_tokens";
  defaultUpstream: string | undefined;
  defaultApiKeyEnv: string;
  /** models.dev provider id for prices and model lists, when there is an obvious one. */
  defaultCatalogProvider: string | undefined;
  keyPlacement: KeyPlacement;
  /** Whether a request without a configured key may still be forwarded (local open-weight servers). */
  keyOptional: boolean;
  /**
   * API version segments one of which stands in front of every endpoint path (the first is
   * the default). `optional`: clients may leave it out (`/openai/chat/completions` and
   * `/openai/v1/chat/completions` are one endpoint). The version a client names is the
   * version forwarded (Gemini serves v1beta, v1 and v1alpha).
   */
  apiPrefix: { segments: readonly string[]; optional: boolean } | undefined;
  endpoints: readonly EndpointSpec[];
  /**
   * Whether the gateway can keep owners of this provider's objects: they carry their id in
   * `id` and lists put them under `data` (OpenAI, Anthropic). Without it, object endpoints
   * stay refused even when the org enables the kind.
   */
  ownsObjects: boolean;
  /** Query parameters that carry a client credential: removed before anything else reads the query. */
  credentialQueryParams: readonly string[];
  /**
   * Request headers that pick credentials, billing or behaviour at the provider and are
   * never taken from the client (the org config may pin some server-side).
   */
  strippedRequestHeaders: readonly string[];
  /**
   * How this route's requests go through Cloudflare AI Gateway (`providers.<id>.via.cloudflareAiGateway`):
   * AI Gateway's provider slug and path shape, from Cloudflare's provider pages. Absent: Cloudflare
   * documents no AI Gateway endpoint for it, and the config refuses `via` on it.
   */
  aiGateway?: AiGatewayRoute;
  /** How the gateway authenticates upstream; absent = `key` (the provider key in `keyPlacement`). */
  upstreamAuth?: UpstreamAuthKind;
  /**
   * Cloud routes: the upstream base and forwarded path follow the configured account (the
   * region's endpoint, the org's project in the path); throws not_configured naming what to set.
   */
  cloudUpstream?(account: CloudAccount): CloudUpstream;
  /**
   * Key-authenticated routes whose base URL follows the configured account (Azure OpenAI's
   * resource name); `upstream` in the config wins. Undefined when the account names none.
   */
  upstreamForAccount?(account: CloudAccount): string | undefined;
  /**
   * The model a client names is a deployment (Azure OpenAI): the org declares which model
   * each deployment serves (`providers.<id>.deployments`), and the gateway governs, prices
   * and meters that model; an undeclared deployment is refused.
   */
  modelIsDeployment?: boolean;
  /**
   * The catalog ids to price a model id by, in order, after the id itself (Bedrock's
   * cross-region inference profiles `us.anthropic.…` fall back to the model's own id).
   */
  catalogModelFallbacks?(model: string): readonly string[];
  /** The wire family this provider's endpoints share with other providers' (cross-provider fallback); absent: none, a route never crosses. */
  wireFamily?: WireFamilyMembership;
  /** The provider's own error body, so the client's SDK shows our message. */
  errorBody(error: GatewayError, requestId: string): JsonObject;
  /** Response headers the provider's SDKs read an error by (Bedrock's `x-amzn-ErrorType`). */
  errorHeaders?(error: GatewayError): Record<string, string>;
  /**
   * One SSE event (with its trailing blank line) announcing a failure mid-stream, in the
   * provider's format; undefined for a binary stream (Bedrock's event stream), which is cut
   * instead, so the client's decoder fails rather than reading text as a frame.
   */
  streamErrorEvent(message: string, format: WireFormat): string | undefined;
}
