import type { JsonObject } from "../providers/index.ts";
import type { TokenUsage } from "../usage/types.ts";
import type { ProviderId } from "../config/index.ts";

/** Prices a usage for provider/model; undefined when the model has no known price (the catalog's `createPricer` in production). */
export type Pricer = (provider: ProviderId, model: string, usage: TokenUsage) => number | undefined;

export interface Estimate {
  inputTokens: number;
  outputTokens: number;
  /** undefined when the model is unpriced: budgets then hold nothing for it (see docs/governance.md). */
  costUsd: number | undefined;
}

/**
 * The cost a request may reach, reserved before it is forwarded. Input tokens come from
 * the body size (bytesPerToken = 1 is an upper bound for text), output tokens from the
 * request's own cap, else the configured default.
 */
export function estimateRequest(options: { bytesPerToken: number; defaultMaxOutputTokens: number }, provider: ProviderId, model: string | undefined, body: JsonObject | undefined, bodyBytes: number, pricer: Pricer): Estimate {
  const inputTokens = Math.ceil(bodyBytes / options.bytesPerToken);
  const outputTokens = maxOutputTokens(body) ?? options.defaultMaxOutputTokens;
  const usage: TokenUsage = { inputTokens, outputTokens, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0 };
  return { inputTokens, outputTokens, costUsd: model ? pricer(provider, model, usage) : undefined };
}

/** The output cap a request sets, in any of the three wire formats. */
export function maxOutputTokens(body: JsonObject | undefined): number | undefined {
  if (!body) return undefined;
  for (const field of ["max_tokens", "max_completion_tokens", "max_output_tokens"]) {
    const value = body[field];
    if (typeof value === "number" && Number.isFinite(value) && value >= 0) return Math.ceil(value);
  }
  const generation = body["generationConfig"];
  if (generation && typeof generation === "object" && !Array.isArray(generation)) {
    const value = (generation as JsonObject)["maxOutputTokens"];
    if (typeof value === "number" && Number.isFinite(value) && value >= 0) return Math.ceil(value);
  }
  return undefined;
}

/** Bytes of a body the proxy did not measure (fallback only; the handler passes the size it read). */
export function bodySize(body: JsonObject | undefined): number {
  return body ? new TextEncoder().encode(JSON.stringify(body)).byteLength : 0;
}

/** Every token the upstream processed for a ledger row: what tokens-per-minute limits count. */
export function tokensOf(row: { input_tokens?: number; output_tokens?: number; cache_read_tokens?: number; cache_write_5m_tokens?: number; cache_write_1h_tokens?: number }): number {
  return (row.input_tokens ?? 0) + (row.output_tokens ?? 0) + (row.cache_read_tokens ?? 0) + (row.cache_write_5m_tokens ?? 0) + (row.cache_write_1h_tokens ?? 0);
}
