import type { GatewayError } from "../core/errors.ts";
import { unmeteredEndpoint } from "./endpoints.ts";
import type { EndpointSpec, ProviderDescriptor } from "./types.ts";

const anthropicErrorType: Record<string, string> = {
  unauthenticated: "authentication_error",
  forbidden: "permission_error",
  not_found: "not_found_error",
  method_not_allowed: "not_found_error",
  bad_request: "invalid_request_error",
  unsupported_media_type: "invalid_request_error",
  payload_too_large: "request_too_large",
  request_timeout: "timeout_error",
  rate_limited: "rate_limit_error",
  budget_exceeded: "rate_limit_error",
  upstream_unavailable: "api_error",
  upstream_timeout: "timeout_error",
  not_configured: "api_error",
  store_unavailable: "overloaded_error",
  internal: "api_error",
};

/** A streamed Messages answer's failure: Anthropic's `error` event (also on Vertex AI's streamRawPredict). */
export function anthropicStreamErrorEvent(message: string): string {
  return `event: error\ndata: ${JSON.stringify({ type: "error", error: { type: "api_error", message } })}\n\n`;
}

// Claude Code adds ?beta=true to every call; list endpoints page with before_id/after_id.
const beta = { beta: ["true"] } as const;
const paging = { ...beta, limit: "any", before_id: "any", after_id: "any" } as const;

const endpoints: EndpointSpec[] = [
  { name: "messages", method: "POST", path: "/messages", body: "json", format: "anthropic-messages", model: "body", streaming: "body", metered: true, query: beta, endUser: "metadata.user_id" },
  { name: "count_tokens", method: "POST", path: "/messages/count_tokens", body: "json", format: "none", model: "body", streaming: "never", metered: false, query: beta },
  unmeteredEndpoint("models.list", "GET", "/models", { query: paging }),
  unmeteredEndpoint("models.read", "GET", "/models/{id}", { query: beta }),
  unmeteredEndpoint("batches.create", "POST", "/messages/batches", { object: { kind: "batches", action: "create" }, query: beta }),
  unmeteredEndpoint("batches.list", "GET", "/messages/batches", { object: { kind: "batches", action: "list" }, query: paging }),
  unmeteredEndpoint("batches.read", "GET", "/messages/batches/{id}", { object: { kind: "batches", action: "read" }, query: beta }),
  unmeteredEndpoint("batches.results", "GET", "/messages/batches/{id}/results", { object: { kind: "batches", action: "read" }, query: beta }),
  unmeteredEndpoint("batches.cancel", "POST", "/messages/batches/{id}/cancel", { object: { kind: "batches", action: "update" }, query: beta, body: "none" }),
  unmeteredEndpoint("batches.delete", "DELETE", "/messages/batches/{id}", { object: { kind: "batches", action: "delete" }, query: beta }),
  unmeteredEndpoint("files.create", "POST", "/files", { object: { kind: "files", action: "create" }, query: beta, body: "raw" }),
  unmeteredEndpoint("files.list", "GET", "/files", { object: { kind: "files", action: "list" }, query: paging }),
  unmeteredEndpoint("files.read", "GET", "/files/{id}", { object: { kind: "files", action: "read" }, query: beta }),
  unmeteredEndpoint("files.content", "GET", "/files/{id}/content", { object: { kind: "files", action: "read" }, query: beta }),
  unmeteredEndpoint("files.delete", "DELETE", "/files/{id}", { object: { kind: "files", action: "delete" }, query: beta }),
];

export const anthropic: ProviderDescriptor = {
  id: "anthropic",
  displayName: "Anthropic",
  routePrefix: "/anthropic",
  clientBasePath: "/anthropic/v1",
  opencodeId: "anthropic",
  opencode: {},
  upstreamExample: "https://api.anthropic.com",
  modelClass: "frontier",
  genAiProviderName: "anthropic",
  defaultUpstream: "https://api.anthropic.com",
  defaultApiKeyEnv: "ANTHROPIC_API_KEY",
  defaultCatalogProvider: "anthropic",
  keyPlacement: "x-api-key",
  keyOptional: false,
  apiPrefix: { segments: ["v1"], optional: false },
  ownsObjects: true,
  endpoints,
  credentialQueryParams: [],
  aiGateway: { slug: "anthropic", path: "as-sent", byok: true },
  strippedRequestHeaders: [],
  // Messages only: count_tokens, files and batches have no exact counterpart on the clouds.
  wireFamily: { family: "anthropic-messages", role: "source", endpoints: ["messages"] },
  errorBody(error: GatewayError, requestId: string) {
    return { type: "error", error: { type: anthropicErrorType[error.code] ?? "api_error", message: error.message }, request_id: requestId };
  },
  streamErrorEvent: anthropicStreamErrorEvent,
};
