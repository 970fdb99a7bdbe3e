import type { GatewayError } from "../core/errors.ts";
import type { WireFormat } from "../usage/types.ts";
import { unmeteredEndpoint } from "./endpoints.ts";
import type { EndpointSpec, JsonObject, ProviderDescriptor } from "./types.ts";

const openaiErrorType: Record<string, string> = {
  unauthenticated: "invalid_request_error",
  forbidden: "permission_error",
  not_found: "invalid_request_error",
  method_not_allowed: "invalid_request_error",
  bad_request: "invalid_request_error",
  unsupported_media_type: "invalid_request_error",
  payload_too_large: "invalid_request_error",
  request_timeout: "invalid_request_error",
  rate_limited: "rate_limit_exceeded",
  budget_exceeded: "insufficient_quota",
  upstream_unavailable: "server_error",
  upstream_timeout: "server_error",
  not_configured: "server_error",
  store_unavailable: "server_error",
  internal: "server_error",
};

const paging = { limit: "any", after: "any", order: ["asc", "desc"] } as const;

/** Endpoints every OpenAI-compatible server shares: chat, responses, embeddings, model lists. */
export const openAiInferenceEndpoints: EndpointSpec[] = [
  { name: "chat", method: "POST", path: "/chat/completions", body: "json", format: "openai-chat", model: "body", streaming: "body", metered: true, query: {}, endUser: "safety_identifier" },
  { name: "responses", method: "POST", path: "/responses", body: "json", format: "openai-responses", model: "body", streaming: "body", metered: true, query: {}, endUser: "safety_identifier" },
  { name: "embeddings", method: "POST", path: "/embeddings", body: "json", format: "openai-embeddings", model: "body", streaming: "never", metered: true, query: {} },
  // Codex fetches its model list as /models?client_version=<its version>.
  unmeteredEndpoint("models.list", "GET", "/models", { query: { client_version: "any" } }),
  unmeteredEndpoint("models.read", "GET", "/models/{id}"),
];

type Kind = NonNullable<EndpointSpec["object"]>["kind"];
type Action = NonNullable<EndpointSpec["object"]>["action"];
// File uploads are multipart: forwarded unread.
const object = (name: string, method: EndpointSpec["method"], path: string, kind: Kind, action: Action, query: EndpointSpec["query"] = {}): EndpointSpec =>
  unmeteredEndpoint(name, method, path, { object: { kind, action }, query, ...(kind === "files" && action === "create" ? { body: "raw" as const } : {}) });

const openAiOnlyEndpoints: EndpointSpec[] = [
  // Codex's default transport: GET /v1/responses with Upgrade: websocket, response.create events.
  { name: "responses.websocket", method: "GET", path: "/responses", body: "none", format: "none", model: "none", streaming: "never", metered: false, query: {}, websocket: "responses" },
  { name: "responses.input_tokens", method: "POST", path: "/responses/input_tokens", body: "json", format: "none", model: "body", streaming: "never", metered: false, query: {} },
  object("files.create", "POST", "/files", "files", "create"),
  object("files.list", "GET", "/files", "files", "list", { ...paging, purpose: "any" }),
  object("files.read", "GET", "/files/{id}", "files", "read"),
  object("files.content", "GET", "/files/{id}/content", "files", "read"),
  object("files.delete", "DELETE", "/files/{id}", "files", "delete"),
  object("batches.create", "POST", "/batches", "batches", "create"),
  object("batches.list", "GET", "/batches", "batches", "list", paging),
  object("batches.read", "GET", "/batches/{id}", "batches", "read"),
  object("batches.cancel", "POST", "/batches/{id}/cancel", "batches", "update"),
  object("responses.read", "GET", "/responses/{id}", "stored_responses", "read"),
  object("responses.delete", "DELETE", "/responses/{id}", "stored_responses", "delete"),
  object("responses.input_items", "GET", "/responses/{id}/input_items", "stored_responses", "read", paging),
  object("responses.cancel", "POST", "/responses/{id}/cancel", "stored_responses", "update"),
  object("chat.list", "GET", "/chat/completions", "stored_completions", "list", { ...paging, model: "any" }),
  object("chat.read", "GET", "/chat/completions/{id}", "stored_completions", "read"),
  object("chat.update", "POST", "/chat/completions/{id}", "stored_completions", "update"),
  object("chat.delete", "DELETE", "/chat/completions/{id}", "stored_completions", "delete"),
  object("chat.messages", "GET", "/chat/completions/{id}/messages", "stored_completions", "read", paging),
  object("conversations.create", "POST", "/conversations", "conversations", "create"),
  object("conversations.read", "GET", "/conversations/{id}", "conversations", "read"),
  object("conversations.delete", "DELETE", "/conversations/{id}", "conversations", "delete"),
  object("vector_stores.create", "POST", "/vector_stores", "vector_stores", "create"),
  object("vector_stores.list", "GET", "/vector_stores", "vector_stores", "list", paging),
  object("vector_stores.read", "GET", "/vector_stores/{id}", "vector_stores", "read"),
  object("vector_stores.delete", "DELETE", "/vector_stores/{id}", "vector_stores", "delete"),
  object("fine_tuning.create", "POST", "/fine_tuning/jobs", "fine_tuning", "create"),
  object("fine_tuning.list", "GET", "/fine_tuning/jobs", "fine_tuning", "list", paging),
  object("fine_tuning.read", "GET", "/fine_tuning/jobs/{id}", "fine_tuning", "read"),
  object("uploads.create", "POST", "/uploads", "uploads", "create"),
];

export function openAiErrorBody(error: GatewayError): JsonObject {
  return { error: { message: error.message, type: openaiErrorType[error.code] ?? "server_error", param: null, code: error.code } };
}

/** Chat Completions streams carry a bare `data: {"error":…}`; Responses streams a typed `error` event. */
export function openAiStreamErrorEvent(message: string, format: WireFormat): string {
  if (format === "openai-responses") return `event: error\ndata: ${JSON.stringify({ type: "error", code: "upstream_stream_failed", message, param: null })}\n\n`;
  return `data: ${JSON.stringify({ error: { message, type: "server_error", param: null, code: "upstream_stream_failed" } })}\n\n`;
}

/** Headers that pick the organisation, project or (Azure) key the upstream bills. */
export const OPENAI_BILLING_HEADERS = ["openai-organization", "openai-project", "api-key"] as const;

export const openai: ProviderDescriptor = {
  id: "openai",
  displayName: "OpenAI",
  routePrefix: "/openai",
  clientBasePath: "/openai/v1",
  opencodeId: "openai",
  // OpenCode sends `store` from model options; under zero data retention it must be false.
  opencode: { zdrModelOptions: { store: false } },
  upstreamExample: "https://api.openai.com/v1",
  modelClass: "frontier",
  genAiProviderName: "openai",
  chatMaxTokensField: "max_completion_tokens",
  defaultUpstream: "https://api.openai.com/v1",
  defaultApiKeyEnv: "OPENAI_API_KEY",
  defaultCatalogProvider: "openai",
  keyPlacement: "authorization-bearer",
  keyOptional: false,
  apiPrefix: { segments: ["v1"], optional: true },
  ownsObjects: true,
  // OpenAI keeps chat completions on `store: true` and responses unless `store: false`.
  endpoints: [
    ...openAiInferenceEndpoints.map((spec) => (spec.name === "chat" ? { ...spec, conversationState: "stored-on-request" as const } : spec.name === "responses" ? { ...spec, conversationState: "stored-by-default" as const } : spec)),
    ...openAiOnlyEndpoints,
  ],
  credentialQueryParams: [],
  aiGateway: { slug: "openai", path: "without-version", byok: true },
  strippedRequestHeaders: OPENAI_BILLING_HEADERS,
  // Chat Completions and Responses: Azure OpenAI's v1 API takes them as they are (the deployment as `model`).
  wireFamily: { family: "openai", role: "source", endpoints: ["chat", "responses"] },
  errorBody: (error) => openAiErrorBody(error),
  streamErrorEvent: openAiStreamErrorEvent,
};
