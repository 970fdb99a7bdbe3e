import type { GatewayError } from "../core/errors.ts";
import type { JsonObject, ProviderDescriptor, RequestShape } from "./types.ts";

const openaiErrorType: Record<string, string> = {
  unauthenticated: "invalid_request_error",
  forbidden: "permission_error",
  not_found: "invalid_request_error",
  bad_request: "invalid_request_error",
  payload_too_large: "invalid_request_error",
  rate_limited: "rate_limit_exceeded",
  budget_exceeded: "insufficient_quota",
  upstream_unavailable: "server_error",
  upstream_timeout: "server_error",
  not_configured: "server_error",
  internal: "server_error",
};

/** Request shapes shared by OpenAI and every OpenAI-compatible server. */
export function classifyOpenAiRequest(method: string, path: string, body: JsonObject | undefined): RequestShape {
  const model = typeof body?.["model"] === "string" ? body["model"] : undefined;
  const streaming = body?.["stream"] === true;
  if (method === "POST" && path.endsWith("/chat/completions")) return { format: "openai-chat", model, streaming, endpoint: "chat" };
  if (method === "POST" && path.endsWith("/responses")) return { format: "openai-responses", model, streaming, endpoint: "responses" };
  if (method === "POST" && path.endsWith("/embeddings")) return { format: "openai-embeddings", model, streaming: false, endpoint: "embeddings" };
  return { format: "none", model, streaming: false, endpoint: "other" };
}

export function openAiErrorBody(error: GatewayError): JsonObject {
  return { error: { message: error.message, type: openaiErrorType[error.code] ?? "server_error", param: null, code: error.code } };
}

export function openAiStreamErrorEvent(message: string): string {
  return `data: ${JSON.stringify({ error: { message, type: "server_error", param: null, code: "upstream_stream_failed" } })}\n\n`;
}

export const openai: ProviderDescriptor = {
  id: "openai",
  displayName: "OpenAI",
  routePrefix: "/openai",
  defaultUpstream: "https://api.openai.com/v1",
  defaultApiKeyEnv: "OPENAI_API_KEY",
  defaultCatalogProvider: "openai",
  keyPlacement: "authorization-bearer",
  keyOptional: false,
  classify: (method, path, _search, body) => classifyOpenAiRequest(method, path, body),
  setEndUser(body, shape, anonymousId) {
    if (shape.endpoint !== "chat" && shape.endpoint !== "responses") return false;
    // `safety_identifier` replaces the deprecated `user`; a client-sent `user` could carry an
    // email, so it is overwritten rather than passed on.
    body["safety_identifier"] = anonymousId;
    if ("user" in body) body["user"] = anonymousId;
    return true;
  },
  errorBody: (error) => openAiErrorBody(error),
  streamErrorEvent: openAiStreamErrorEvent,
};
