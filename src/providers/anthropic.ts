import type { GatewayError } from "../core/errors.ts";
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

// Claude Code adds ?beta=true to every call; list endpoints page with before_id/after_id.
const beta = { beta: ["true"] } as const;
const paging = { ...beta, limit: "any", before_id: "any", after_id: "any" } as const;

const endpoints: EndpointSpec[] = [
  { name: "messages", method: "POST", path: "/messages", body: "json", format: "anthropic-messages", model: "body", streaming: "body", metered: true, query: beta, endUser: "metadata.user_id" },
  { name: "count_tokens", method: "POST", path: "/messages/count_tokens", body: "json", format: "none", model: "body", streaming: "never", metered: false, query: beta },
  { name: "models.list", method: "GET", path: "/models", body: "none", format: "none", model: "none", streaming: "never", metered: false, query: paging },
  { name: "models.read", method: "GET", path: "/models/{id}", body: "none", format: "none", model: "none", streaming: "never", metered: false, query: beta },
  { name: "batches.create", method: "POST", path: "/messages/batches", body: "json", format: "none", model: "none", streaming: "never", metered: false, query: beta, object: { kind: "batches", action: "create" } },
  { name: "batches.list", method: "GET", path: "/messages/batches", body: "none", format: "none", model: "none", streaming: "never", metered: false, query: paging, object: { kind: "batches", action: "list" } },
  { name: "batches.read", method: "GET", path: "/messages/batches/{id}", body: "none", format: "none", model: "none", streaming: "never", metered: false, query: beta, object: { kind: "batches", action: "read" } },
  { name: "batches.results", method: "GET", path: "/messages/batches/{id}/results", body: "none", format: "none", model: "none", streaming: "never", metered: false, query: beta, object: { kind: "batches", action: "read" } },
  { name: "batches.cancel", method: "POST", path: "/messages/batches/{id}/cancel", body: "none", format: "none", model: "none", streaming: "never", metered: false, query: beta, object: { kind: "batches", action: "update" } },
  { name: "batches.delete", method: "DELETE", path: "/messages/batches/{id}", body: "none", format: "none", model: "none", streaming: "never", metered: false, query: beta, object: { kind: "batches", action: "delete" } },
  { name: "files.create", method: "POST", path: "/files", body: "raw", format: "none", model: "none", streaming: "never", metered: false, query: beta, object: { kind: "files", action: "create" } },
  { name: "files.list", method: "GET", path: "/files", body: "none", format: "none", model: "none", streaming: "never", metered: false, query: paging, object: { kind: "files", action: "list" } },
  { name: "files.read", method: "GET", path: "/files/{id}", body: "none", format: "none", model: "none", streaming: "never", metered: false, query: beta, object: { kind: "files", action: "read" } },
  { name: "files.content", method: "GET", path: "/files/{id}/content", body: "none", format: "none", model: "none", streaming: "never", metered: false, query: beta, object: { kind: "files", action: "read" } },
  { name: "files.delete", method: "DELETE", path: "/files/{id}", body: "none", format: "none", model: "none", streaming: "never", metered: false, query: beta, object: { kind: "files", action: "delete" } },
];

export const anthropic: ProviderDescriptor = {
  id: "anthropic",
  displayName: "Anthropic",
  routePrefix: "/anthropic",
  clientBasePath: "/anthropic/v1",
  opencodeId: "anthropic",
  defaultUpstream: "https://api.anthropic.com",
  defaultApiKeyEnv: "ANTHROPIC_API_KEY",
  defaultCatalogProvider: "anthropic",
  keyPlacement: "x-api-key",
  keyOptional: false,
  apiPrefix: { segments: ["v1"], optional: false },
  ownsObjects: true,
  endpoints,
  credentialQueryParams: [],
  strippedRequestHeaders: [],
  errorBody(error: GatewayError, requestId: string) {
    return { type: "error", error: { type: anthropicErrorType[error.code] ?? "api_error", message: error.message }, request_id: requestId };
  },
  streamErrorEvent(message) {
    return `event: error\ndata: ${JSON.stringify({ type: "error", error: { type: "api_error", message } })}\n\n`;
  },
};
