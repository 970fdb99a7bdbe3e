import type { NeutralUsage } from "./types.ts";

/** Used when a behaviour gives no usage. */
export const defaultUsage: NeutralUsage = {
  input: 12,
  output: 8,
  cacheRead: 0,
  cacheWrite5m: 0,
  cacheWrite1h: 0,
  reasoning: 0,
};

export function resolveUsage(partial: Partial<NeutralUsage> | undefined): NeutralUsage {
  const usage = { ...defaultUsage, ...partial };
  for (const [kind, value] of Object.entries(usage)) {
    if (!Number.isInteger(value) || value < 0) throw new Error(`fake-upstream: usage.${kind} must be a non-negative integer, got ${String(value)}`);
  }
  if (usage.reasoning > usage.output) {
    throw new Error(`fake-upstream: usage.reasoning (${usage.reasoning}) is part of usage.output (${usage.output}) and cannot exceed it`);
  }
  return usage;
}

const cacheWrite = (u: NeutralUsage): number => u.cacheWrite5m + u.cacheWrite1h;

/**
 * Anthropic: `input_tokens` EXCLUDES cache reads and writes; writes are split by TTL in
 * `cache_creation`; `output_tokens` includes thinking (there is no separate count).
 */
export function anthropicUsage(u: NeutralUsage): Record<string, unknown> {
  return {
    input_tokens: u.input,
    cache_creation_input_tokens: cacheWrite(u),
    cache_read_input_tokens: u.cacheRead,
    cache_creation: { ephemeral_5m_input_tokens: u.cacheWrite5m, ephemeral_1h_input_tokens: u.cacheWrite1h },
    output_tokens: u.output,
    service_tier: "standard",
  };
}

/** `message_start` carries the final input-side counts but only a token or so of output. */
export function anthropicStartUsage(u: NeutralUsage): Record<string, unknown> {
  return { ...anthropicUsage(u), output_tokens: Math.min(1, u.output) };
}

/** `message_delta` carries cumulative totals (not increments), as the API does today. */
export function anthropicDeltaUsage(u: NeutralUsage): Record<string, unknown> {
  return {
    input_tokens: u.input,
    cache_creation_input_tokens: cacheWrite(u),
    cache_read_input_tokens: u.cacheRead,
    output_tokens: u.output,
  };
}

/**
 * OpenAI Chat Completions: `prompt_tokens` INCLUDES `prompt_tokens_details.cached_tokens`.
 * Chat has no cache-write field, so cache writes count as ordinary prompt tokens.
 * `completion_tokens` includes `completion_tokens_details.reasoning_tokens`.
 */
export function openAiChatUsage(u: NeutralUsage): Record<string, unknown> {
  const prompt = u.input + u.cacheRead + cacheWrite(u);
  return {
    prompt_tokens: prompt,
    completion_tokens: u.output,
    total_tokens: prompt + u.output,
    prompt_tokens_details: { cached_tokens: u.cacheRead, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

/** OpenAI Responses: `input_tokens` includes cached (and cache-write) tokens; `output_tokens` includes reasoning. */
export function openAiResponsesUsage(u: NeutralUsage): Record<string, unknown> {
  const input = u.input + u.cacheRead + cacheWrite(u);
  return {
    input_tokens: input,
    input_tokens_details: { cache_write_tokens: cacheWrite(u), cached_tokens: u.cacheRead },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning },
    total_tokens: input + u.output,
  };
}

/** OpenAI embeddings report only prompt tokens. */
export function openAiEmbeddingsUsage(u: NeutralUsage): Record<string, unknown> {
  const prompt = u.input + u.cacheRead + cacheWrite(u);
  return { prompt_tokens: prompt, total_tokens: prompt };
}

/**
 * Gemini: `promptTokenCount` INCLUDES `cachedContentTokenCount`; `thoughtsTokenCount` is
 * separate from `candidatesTokenCount` (both billed as output). Zero-valued optional counts
 * are omitted, as the API does. `visibleOutput` lets intermediate stream chunks report a
 * partial candidates count.
 */
export function geminiUsage(u: NeutralUsage, visibleOutput = u.output - u.reasoning): Record<string, unknown> {
  const prompt = u.input + u.cacheRead + cacheWrite(u);
  const metadata: Record<string, unknown> = {
    promptTokenCount: prompt,
    candidatesTokenCount: visibleOutput,
    totalTokenCount: prompt + visibleOutput + u.reasoning,
  };
  if (u.cacheRead > 0) metadata["cachedContentTokenCount"] = u.cacheRead;
  metadata["promptTokensDetails"] = [{ modality: "TEXT", tokenCount: prompt }];
  if (u.cacheRead > 0) metadata["cacheTokensDetails"] = [{ modality: "TEXT", tokenCount: u.cacheRead }];
  if (u.reasoning > 0) metadata["thoughtsTokenCount"] = u.reasoning;
  return metadata;
}
