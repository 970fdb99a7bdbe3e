import type { ProviderDescriptor } from "./types.ts";
import { OPENAI_BILLING_HEADERS, openAiErrorBody, openAiInferenceEndpoints, openAiStreamErrorEvent } from "./openai.ts";

/**
 * GroqCloud's OpenAI-compatible API (https://api.groq.com/openai/v1): open-weight models on
 * Groq's hardware, billed per token at models.dev's `groq` prices. It serves chat completions,
 * responses and model lists, not embeddings; chat takes the end user in `user`, and the
 * answer's cap in `max_completion_tokens` (`max_tokens` is deprecated there).
 */
export const groq: ProviderDescriptor = {
  id: "groq",
  displayName: "Groq",
  routePrefix: "/groq",
  clientBasePath: "/groq/v1",
  opencodeId: "groq",
  // OpenCode knows Groq (its @ai-sdk/groq package and models) under the same id.
  opencode: {},
  upstreamExample: "https://api.groq.com/openai/v1",
  modelClass: "open-weight",
  genAiProviderName: "groq",
  chatMaxTokensField: "max_completion_tokens",
  defaultUpstream: "https://api.groq.com/openai/v1",
  defaultApiKeyEnv: "GROQ_API_KEY",
  defaultCatalogProvider: "groq",
  keyPlacement: "authorization-bearer",
  keyOptional: false,
  apiPrefix: { segments: ["v1"], optional: true },
  ownsObjects: false,
  endpoints: openAiInferenceEndpoints.filter((spec) => spec.name !== "embeddings").map((spec) => (spec.name === "chat" ? { ...spec, endUser: "user" } : spec.name === "responses" ? { ...spec, endUser: undefined } : spec)),
  credentialQueryParams: [],
  aiGateway: { slug: "groq", path: "without-version", byok: true },
  strippedRequestHeaders: OPENAI_BILLING_HEADERS,
  errorBody: (error) => openAiErrorBody(error),
  streamErrorEvent: openAiStreamErrorEvent,
};
