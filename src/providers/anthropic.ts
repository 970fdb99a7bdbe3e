import type { GatewayError } from "../core/errors.ts";
import type { JsonObject, ProviderDescriptor, RequestShape } from "./types.ts";

const anthropicErrorType: Record<string, string> = {
  unauthenticated: "authentication_error",
  forbidden: "permission_error",
  not_found: "not_found_error",
  bad_request: "invalid_request_error",
  payload_too_large: "request_too_large",
  rate_limited: "rate_limit_error",
  budget_exceeded: "rate_limit_error",
  upstream_unavailable: "api_error",
  upstream_timeout: "timeout_error",
  not_configured: "api_error",
  internal: "api_error",
};

export const anthropic: ProviderDescriptor = {
  id: "anthropic",
  displayName: "Anthropic",
  routePrefix: "/anthropic",
  defaultUpstream: "https://api.anthropic.com",
  defaultApiKeyEnv: "ANTHROPIC_API_KEY",
  defaultCatalogProvider: "anthropic",
  keyPlacement: "x-api-key",
  keyOptional: false,
  classify(method, path, _search, body): RequestShape {
    const model = typeof body?.["model"] === "string" ? body["model"] : undefined;
    if (method === "POST" && path.endsWith("/messages/count_tokens")) return { format: "none", model, streaming: false, endpoint: "count_tokens" };
    if (method === "POST" && path.endsWith("/messages")) return { format: "anthropic-messages", model, streaming: body?.["stream"] === true, endpoint: "messages" };
    return { format: "none", model, streaming: false, endpoint: "other" };
  },
  setEndUser(body, shape, anonymousId) {
    if (shape.endpoint !== "messages") return false;
    const existing = body["metadata"];
    const metadata: JsonObject = existing !== null && typeof existing === "object" && !Array.isArray(existing) ? { ...(existing as JsonObject) } : {};
    metadata["user_id"] = anonymousId;
    body["metadata"] = metadata;
    return true;
  },
  errorBody(error: GatewayError, requestId: string) {
    return { type: "error", error: { type: anthropicErrorType[error.code] ?? "api_error", message: error.message }, request_id: requestId };
  },
  streamErrorEvent(message) {
    return `event: error\ndata: ${JSON.stringify({ type: "error", error: { type: "api_error", message } })}\n\n`;
  },
};
