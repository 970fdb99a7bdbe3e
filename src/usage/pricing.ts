import type { ModelPrice, TokenUsage } from "./types.ts";

/** Anthropic's published multipliers, used when a price list has no explicit cache-write rate. */
export const CACHE_WRITE_5M_MULTIPLIER = 1.25;
export const CACHE_WRITE_1H_MULTIPLIER = 2;

/**
 * Cost in USD of one request. Prices are per million tokens. Every token kind in
 * `TokenUsage` is disjoint, so each token is priced exactly once:
 * uncached input at `input`; cache reads at `cacheRead` (else `input`); 5-minute writes at
 * `cacheWrite` (else 1.25x input); 1-hour writes at `cacheWrite1h` (else 2x input);
 * reasoning at `reasoning` (else `output`); the rest of the output at `output`.
 */
export function priceUsage(usage: TokenUsage, price: ModelPrice): number {
  const rates = applicableRates(usage, price);
  const reasoning = Math.min(usage.reasoningTokens, usage.outputTokens);
  const plainOutput = usage.outputTokens - reasoning;
  const microDollars =
    usage.inputTokens * rates.input +
    usage.cacheReadTokens * (rates.cacheRead ?? rates.input) +
    usage.cacheWrite5mTokens * (rates.cacheWrite ?? rates.input * CACHE_WRITE_5M_MULTIPLIER) +
    usage.cacheWrite1hTokens * (rates.cacheWrite1h ?? rates.input * CACHE_WRITE_1H_MULTIPLIER) +
    reasoning * (rates.reasoning ?? rates.output) +
    plainOutput * rates.output;
  return microDollars / 1_000_000;
}

/** Prompt size that decides a long-context tier: everything the model read. */
export function promptTokens(usage: TokenUsage): number {
  return usage.inputTokens + usage.cacheReadTokens + usage.cacheWrite5mTokens + usage.cacheWrite1hTokens;
}

function applicableRates(usage: TokenUsage, price: ModelPrice): Omit<ModelPrice, "tiers"> {
  if (!price.tiers || price.tiers.length === 0) return price;
  const prompt = promptTokens(usage);
  let chosen: Omit<ModelPrice, "tiers"> = price;
  let chosenAbove = -1;
  for (const tier of price.tiers) {
    if (prompt > tier.aboveInputTokens && tier.aboveInputTokens > chosenAbove) {
      chosen = tier.price;
      chosenAbove = tier.aboveInputTokens;
    }
  }
  return chosen;
}
