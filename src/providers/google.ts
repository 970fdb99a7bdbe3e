import type { GatewayError } from "../core/errors.ts";
import { unmeteredEndpoint } from "./endpoints.ts";
import type { EndpointSpec, ProviderDescriptor } from "./types.ts";

const googleStatus: Record<string, string> = {
  unauthenticated: "UNAUTHENTICATED",
  forbidden: "PERMISSION_DENIED",
  not_found: "NOT_FOUND",
  method_not_allowed: "NOT_FOUND",
  bad_request: "INVALID_ARGUMENT",
  unsupported_media_type: "INVALID_ARGUMENT",
  payload_too_large: "INVALID_ARGUMENT",
  request_timeout: "DEADLINE_EXCEEDED",
  rate_limited: "RESOURCE_EXHAUSTED",
  budget_exceeded: "RESOURCE_EXHAUSTED",
  upstream_unavailable: "UNAVAILABLE",
  upstream_timeout: "DEADLINE_EXCEEDED",
  not_configured: "UNAVAILABLE",
  store_unavailable: "UNAVAILABLE",
  internal: "INTERNAL",
};

/** Google's error body (`google.rpc.Status` in JSON), shared by AI Studio and Vertex AI. */
export function googleErrorBody(error: GatewayError): { error: { code: number; message: string; status: string } } {
  return { error: { code: error.status, message: error.message, status: googleStatus[error.code] ?? "INTERNAL" } };
}

/**
 * A streamed Gemini answer's failure. Mid-stream, Google sends its error as bare JSON, no SSE
 * framing: @google/genai (and so Gemini CLI) throws an ApiError with it only when a read chunk
 * parses as `{"error":…}` (processStreamResponse in js-genai src/_api_client.ts); a `data:`
 * event would be taken for an empty answer. No trailing newline: one more blank line would make
 * a reader that got it joined to an earlier event skip it silently instead of failing.
 */
export function googleStreamErrorEvent(message: string): string {
  return JSON.stringify({ error: { code: 502, message, status: "UNAVAILABLE" } });
}

// `alt` picks the answer's encoding: json and sse are read for usage; proto and media are
// not, so they are refused (an unreadable answer would be free). `$alt`, `fields` and
// `$fields` are not accepted either: a field mask can drop usageMetadata from the answer.
const paging = { pageSize: "any", pageToken: "any" } as const;

const plain = (name: string, method: EndpointSpec["method"], path: string, object?: EndpointSpec["object"], query: EndpointSpec["query"] = {}): EndpointSpec => unmeteredEndpoint(name, method, path, { object, query });

const endpoints: EndpointSpec[] = [
  { name: "generate", method: "POST", path: "/models/{model}:generateContent", body: "json", format: "gemini", model: "path", streaming: "never", metered: true, query: { alt: ["json"] } },
  // Without alt=sse Gemini streams one JSON array; the reader handles both, streaming = SSE only.
  { name: "stream_generate", method: "POST", path: "/models/{model}:streamGenerateContent", body: "json", format: "gemini", model: "path", streaming: "alt-sse", metered: true, query: { alt: ["sse", "json"] } },
  { name: "count_tokens", method: "POST", path: "/models/{model}:countTokens", body: "json", format: "none", model: "path", streaming: "never", metered: false, query: {} },
  plain("models.list", "GET", "/models", undefined, paging),
  plain("models.read", "GET", "/models/{id}"),
  plain("files.list", "GET", "/files", { kind: "files", action: "list" }, paging),
  plain("files.read", "GET", "/files/{id}", { kind: "files", action: "read" }),
  plain("files.delete", "DELETE", "/files/{id}", { kind: "files", action: "delete" }),
  plain("cached_contents.create", "POST", "/cachedContents", { kind: "cached_contents", action: "create" }),
  plain("cached_contents.list", "GET", "/cachedContents", { kind: "cached_contents", action: "list" }, paging),
  plain("cached_contents.read", "GET", "/cachedContents/{id}", { kind: "cached_contents", action: "read" }),
  plain("cached_contents.update", "PATCH", "/cachedContents/{id}", { kind: "cached_contents", action: "update" }, { updateMask: "any" }),
  plain("cached_contents.delete", "DELETE", "/cachedContents/{id}", { kind: "cached_contents", action: "delete" }),
  { ...plain("batches.create", "POST", "/models/{model}:batchGenerateContent", { kind: "batches", action: "create" }), model: "path" },
  plain("batches.list", "GET", "/batches", { kind: "batches", action: "list" }, paging),
  plain("batches.read", "GET", "/batches/{id}", { kind: "batches", action: "read" }),
  plain("batches.delete", "DELETE", "/batches/{id}", { kind: "batches", action: "delete" }),
];

export const google: ProviderDescriptor = {
  id: "google-ai-studio",
  displayName: "Google AI Studio",
  routePrefix: "/google-ai-studio",
  clientBasePath: "/google-ai-studio/v1beta",
  opencodeId: "google",
  opencode: {},
  upstreamExample: "https://generativelanguage.googleapis.com/v1beta",
  modelClass: "frontier",
  genAiProviderName: "gcp.gemini",
  defaultUpstream: "https://generativelanguage.googleapis.com",
  defaultApiKeyEnv: "GEMINI_API_KEY",
  defaultCatalogProvider: "google",
  keyPlacement: "x-goog-api-key",
  keyOptional: false,
  // @google/genai picks v1beta by default and v1 or v1alpha with `apiVersion`.
  apiPrefix: { segments: ["v1beta", "v1", "v1alpha"], optional: false },
  ownsObjects: false,
  endpoints,
  // `key` carries the gateway token for SDKs that put it in the query; `access_token` is an OAuth credential.
  credentialQueryParams: ["key", "access_token"],
  // x-goog-user-project picks the billed project; X-Goog-FieldMask can drop usageMetadata from the answer.
  aiGateway: { slug: "google-ai-studio", path: "as-sent", byok: true },
  strippedRequestHeaders: ["x-goog-user-project", "x-goog-fieldmask"],
  errorBody: googleErrorBody,
  streamErrorEvent: googleStreamErrorEvent,
};
