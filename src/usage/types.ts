/**
 * What the usage reader produces and the pricer consumes. Token kinds are disjoint so each
 * is priced exactly once:
 *  - inputTokens: prompt tokens that were neither read from nor written to a cache
 *    (OpenAI/Gemini report cached tokens INSIDE their prompt count; the reader subtracts
 *    them; Anthropic reports them outside already).
 *  - outputTokens: all generated tokens, reasoning/thinking included.
 *  - reasoningTokens: the part of outputTokens that was reasoning (priced at the model's
 *    reasoning rate when it has one, else at the output rate; never added twice).
 */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  reasoningTokens: number;
}

export const zeroUsage = (): TokenUsage => ({
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  reasoningTokens: 0,
});

/**
 * How a response body is shaped, decided from the provider and the request path.
 * `bedrock-invoke`: Bedrock InvokeModel (Anthropic's body; streamed as `chunk` events of the
 * binary event stream carrying Anthropic's events in base64, with
 * `amazon-bedrock-invocationMetrics`); `bedrock-converse`: Bedrock Converse (its own body;
 * streamed as event-stream frames ending in a `metadata` event with the usage).
 */
export type WireFormat = "anthropic-messages" | "openai-chat" | "openai-responses" | "openai-embeddings" | "gemini" | "bedrock-invoke" | "bedrock-converse" | "none";

export interface UsageReport {
  usage: TokenUsage;
  /** Model id the upstream reported, when it did (may differ from the requested alias). */
  model: string | undefined;
  /** True when a terminal usage event/body was seen (stream finished normally). */
  sawFinalUsage: boolean;
  /** Set when the reader itself failed (a bug, never bad upstream data); counts are what was seen before. */
  readerError?: string | undefined;
}

/**
 * Incremental reader over the response bytes as they pass to the client. `push` must be
 * cheap and must never throw (a malformed event is skipped); `finish` is called once at
 * end of stream, abort or failure and returns whatever was seen so far.
 */
export interface UsageReader {
  push(chunk: Uint8Array): void;
  finish(): UsageReport;
  /** The generated text relayed (after `finish`), for an estimate when the usage never arrived. */
  output(): { text: string; scale: number };
}

/** Prices in USD per million tokens, as models.dev publishes them. */
export interface ModelPrice {
  input: number;
  output: number;
  cacheRead?: number | undefined;
  /** 5-minute cache write rate (models.dev `cache_write`). */
  cacheWrite?: number | undefined;
  /** 1-hour cache write rate; Anthropic charges 2x input where the catalog has none. */
  cacheWrite1h?: number | undefined;
  reasoning?: number | undefined;
  /**
   * Long-context tiers (models.dev `cost.tiers` / `cost.context_over_200k`): when the prompt
   * (uncached input + cache reads + cache writes) is larger than `aboveInputTokens`, the
   * tier's rates replace these for the whole request. The largest tier exceeded wins.
   */
  tiers?: readonly PriceTier[] | undefined;
}

export interface PriceTier {
  aboveInputTokens: number;
  price: Omit<ModelPrice, "tiers">;
}
