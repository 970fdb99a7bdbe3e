import type { ProviderDescriptor } from "./types.ts";
import { classifyOpenAiRequest, openAiErrorBody, openAiStreamErrorEvent } from "./openai.ts";

/**
 * Any OpenAI-compatible server for open-weight models (vLLM, llama.cpp, Ollama, Workers AI).
 * Only the long-standing `user` field is set: strict servers reject `safety_identifier`.
 */
export const compat: ProviderDescriptor = {
  id: "compat",
  displayName: "Open-weight (OpenAI-compatible)",
  routePrefix: "/compat",
  defaultUpstream: undefined,
  defaultApiKeyEnv: "COMPAT_API_KEY",
  defaultCatalogProvider: undefined,
  keyPlacement: "authorization-bearer",
  keyOptional: true,
  classify: (method, path, _search, body) => classifyOpenAiRequest(method, path, body),
  setEndUser(body, shape, anonymousId) {
    if (shape.endpoint !== "chat") return false;
    body["user"] = anonymousId;
    return true;
  },
  errorBody: (error) => openAiErrorBody(error),
  streamErrorEvent: openAiStreamErrorEvent,
};
