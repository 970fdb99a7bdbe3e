import type { GatewayError } from "../core/errors.ts";
import type { ProviderDescriptor, RequestShape } from "./types.ts";

const googleStatus: Record<string, string> = {
  unauthenticated: "UNAUTHENTICATED",
  forbidden: "PERMISSION_DENIED",
  not_found: "NOT_FOUND",
  bad_request: "INVALID_ARGUMENT",
  payload_too_large: "INVALID_ARGUMENT",
  rate_limited: "RESOURCE_EXHAUSTED",
  budget_exceeded: "RESOURCE_EXHAUSTED",
  upstream_unavailable: "UNAVAILABLE",
  upstream_timeout: "DEADLINE_EXCEEDED",
  not_configured: "UNAVAILABLE",
  internal: "INTERNAL",
};

// models/{model}:{method}; the model id may contain dots and dashes.
const modelPath = /\/models\/([^/:]+):([A-Za-z]+)$/;

export const google: ProviderDescriptor = {
  id: "google-ai-studio",
  displayName: "Google AI Studio",
  routePrefix: "/google-ai-studio/v1beta",
  defaultUpstream: "https://generativelanguage.googleapis.com/v1beta",
  defaultApiKeyEnv: "GEMINI_API_KEY",
  defaultCatalogProvider: "google",
  keyPlacement: "x-goog-api-key",
  keyOptional: false,
  classify(method, path, search): RequestShape {
    const match = modelPath.exec(path);
    const model = match?.[1] ? decodeURIComponent(match[1]) : undefined;
    const action = match?.[2];
    if (method === "POST" && action === "generateContent") return { format: "gemini", model, streaming: false, endpoint: "generate" };
    if (method === "POST" && action === "streamGenerateContent") {
      // Without alt=sse Gemini streams one JSON array; the reader handles both, streaming=SSE only.
      return { format: "gemini", model, streaming: new URLSearchParams(search).get("alt") === "sse", endpoint: "stream_generate" };
    }
    if (method === "POST" && action === "countTokens") return { format: "none", model, streaming: false, endpoint: "count_tokens" };
    return { format: "none", model, streaming: false, endpoint: "other" };
  },
  // Gemini has no end-user field; the anonymous id travels in the metadata header only.
  setEndUser: () => false,
  errorBody(error: GatewayError) {
    return { error: { code: error.status, message: error.message, status: googleStatus[error.code] ?? "INTERNAL" } };
  },
  streamErrorEvent(message) {
    return `data: ${JSON.stringify({ error: { code: 502, message, status: "UNAVAILABLE" } })}\n\n`;
  },
};
