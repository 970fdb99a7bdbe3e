import { hexId } from "./content.ts";
import type { ErrorReply } from "./route.ts";
import type { BehaviourError } from "./types.ts";

// https://platform.openai.com/docs/guides/error-codes: status <-> error.type, with the `code` the API sends.
export const statusByType: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  insufficient_quota: 429,
  requests: 429,
  tokens: 429,
  rate_limit_exceeded: 429,
  server_error: 500,
};
export const typeByStatus: Record<number, string> = { 400: "invalid_request_error", 401: "invalid_request_error", 403: "invalid_request_error", 404: "invalid_request_error", 429: "requests", 500: "server_error", 502: "server_error", 503: "server_error" };
const codeByType: Record<string, string | null> = { insufficient_quota: "insufficient_quota", requests: "rate_limit_exceeded", tokens: "rate_limit_exceeded", rate_limit_exceeded: "rate_limit_exceeded" };
export const defaultMessages: Record<string, string> = {
  invalid_request_error: "Invalid request.",
  insufficient_quota: "You exceeded your current quota, please check your plan and billing details.",
  requests: "Rate limit reached for requests. Please try again in 1s.",
  tokens: "Rate limit reached for tokens. Please try again in 1s.",
  server_error: "The server had an error while processing your request. Sorry about that!",
};

export const openAiRequestId = (): string => hexId("req_", 16);

/** Headers the API sends on every answer. */
export const openAiHeaders = (): Record<string, string> => ({ "x-request-id": openAiRequestId(), "openai-processing-ms": "1", "openai-version": "2020-10-01" });

export function openAiReply(status: number, message: string, type: string, code: string | null, param: string | null = null): ErrorReply {
  const headers = openAiHeaders();
  if (status === 429) headers["retry-after"] = "1";
  return { status, body: { error: { message, type, param, code } }, headers };
}

/** The in-stream error chunk of Chat Completions, also used by the Responses `error` event. */
export const openAiMidStreamError: BehaviourError = { type: "server_error", message: defaultMessages["server_error"] ?? "" };
export const openAiErrorCode = (type: string): string | null => codeByType[type] ?? null;
