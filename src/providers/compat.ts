import type { ProviderDescriptor } from "./types.ts";
import { OPENAI_BILLING_HEADERS, openAiErrorBody, openAiInferenceEndpoints, openAiStreamErrorEvent } from "./openai.ts";

/**
 * Any OpenAI-compatible server for open-weight models (vLLM, llama.cpp, Ollama, Workers AI).
 * Only the long-standing `user` field is set: strict servers reject `safety_identifier`.
 */
export const compat: ProviderDescriptor = {
  id: "compat",
  displayName: "Open-weight (OpenAI-compatible)",
  routePrefix: "/compat",
  clientBasePath: "/compat",
  opencodeId: "compat",
  opencode: { npm: "@ai-sdk/openai-compatible", defaultName: "Open-weight models (Gatehouse)" },
  upstreamExample: "http://127.0.0.1:11434/v1",
  modelClass: "open-weight",
  genAiProviderName: "compat",
  chatMaxTokensField: "max_tokens",
  defaultUpstream: undefined,
  defaultApiKeyEnv: "COMPAT_API_KEY",
  defaultCatalogProvider: undefined,
  keyPlacement: "authorization-bearer",
  keyOptional: true,
  apiPrefix: { segments: ["v1"], optional: true },
  ownsObjects: false,
  endpoints: openAiInferenceEndpoints.map((spec) => (spec.name === "chat" ? { ...spec, endUser: "user" } : spec.name === "responses" ? { ...spec, endUser: undefined } : spec)),
  credentialQueryParams: [],
  aiGateway: { slug: "workers-ai", path: "with-v1", byok: false },
  strippedRequestHeaders: OPENAI_BILLING_HEADERS,
  errorBody: (error) => openAiErrorBody(error),
  streamErrorEvent: openAiStreamErrorEvent,
};
