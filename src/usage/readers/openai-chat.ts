import type { FormatHandler } from "../format.ts";
import { asRecord, count, firstModelField, hasObjectField, text } from "../json-fields.ts";
import { zeroUsage, type TokenUsage, type UsageReport } from "../types.ts";

/**
 * OpenAI Chat Completions (and the OpenAI-compatible servers behind /compat: vLLM,
 * llama.cpp, Ollama, DeepSeek...). Streams carry usage on a final chunk when
 * `stream_options.include_usage` is set (`choices: []`; every other chunk has
 * `"usage": null`); some compat servers put it on the last chunk that still has choices.
 * Either way the last non-null `usage` wins.
 */
export function openAiChatHandler(): FormatHandler {
  let usage: TokenUsage | undefined;
  let model: string | undefined;
  return {
    usageKey: '"usage"',
    ended: false,
    wants(_event, data) {
      model ??= firstModelField(data);
      return hasObjectField(data, '"usage"');
    },
    onStreamPayload(_event, payload) {
      const read = readChatUsage(payload["usage"]);
      if (read) usage = read;
      model = text(payload["model"]) ?? model;
    },
    onBody(body) {
      const read = readChatUsage(body["usage"]);
      if (read) usage = read;
      model = text(body["model"]) ?? model;
    },
    report(): UsageReport {
      return { usage: usage ?? zeroUsage(), model, sawFinalUsage: usage !== undefined };
    },
  };
}

/** prompt_tokens INCLUDES cached tokens; completion_tokens INCLUDES reasoning tokens. */
export function readChatUsage(value: unknown): TokenUsage | undefined {
  const raw = asRecord(value);
  if (!raw) return undefined;
  const prompt = count(raw["prompt_tokens"]) ?? 0;
  const completion = count(raw["completion_tokens"]) ?? 0;
  const promptDetails = asRecord(raw["prompt_tokens_details"]);
  const completionDetails = asRecord(raw["completion_tokens_details"]);
  // DeepSeek reports cache hits as prompt_cache_hit_tokens (also inside prompt_tokens).
  const cached = Math.min(prompt, count(promptDetails?.["cached_tokens"]) ?? count(raw["prompt_cache_hit_tokens"]) ?? 0);
  const reasoning = Math.min(completion, count(completionDetails?.["reasoning_tokens"]) ?? 0);
  return {
    ...zeroUsage(),
    inputTokens: prompt - cached,
    cacheReadTokens: cached,
    outputTokens: completion,
    reasoningTokens: reasoning,
  };
}
