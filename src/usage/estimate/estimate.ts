import type { JsonRecord } from "../json-fields.ts";
import { zeroUsage, type TokenUsage, type UsageReport, type WireFormat } from "../types.ts";
import { promptParts } from "./request-text.ts";
import { countTokens, loadTokenizer, type Encoding } from "./tokens.ts";

/**
 * How one model family's tokens are counted. OpenAI models are counted with their own
 * encoding; Anthropic and Google publish no tokenizer, so their text is counted with
 * o200k_base and multiplied by a factor measured against their reported usage
 * (docs/usage-and-pricing.md, "Estimated usage", has the measured error).
 */
export interface TokenizerProfile {
  /** Stated in docs and the measurement: which counting was used. */
  name: string;
  encoding: Encoding;
  /** Multiplies counted text tokens (1 for OpenAI's own tokenizers). */
  factor: number;
  /** Framing tokens per message (role markers, separators). */
  perMessage: number;
  /** Framing tokens per request (the assistant turn's priming). */
  perRequest: number;
  /** Preamble tokens the provider adds when tools are defined. */
  toolPreamble: number;
  /** Tokens per image, audio or file part (their bytes are not text). */
  perMedia: number;
}

// OpenAI: 3 tokens per message and 3 to prime the reply (OpenAI's cookbook formula for
// chat models); an image at "high" detail 1024x1024 is 765 tokens.
const OPENAI_O200K: TokenizerProfile = { name: "o200k_base", encoding: "o200k_base", factor: 1, perMessage: 3, perRequest: 3, toolPreamble: 0, perMedia: 765 };
const OPENAI_CL100K: TokenizerProfile = { ...OPENAI_O200K, name: "cl100k_base", encoding: "cl100k_base" };
// Anthropic: tool use adds a system preamble (346 tokens for Claude 4 models with
// tool_choice auto, per Anthropic's tool-use pricing table); an image is (w*h)/750 tokens,
// ~1,600 at the 1.15 MP the API resizes to.
export const ANTHROPIC_PROFILE: TokenizerProfile = { name: "o200k_base x 1.20", encoding: "o200k_base", factor: 1.2, perMessage: 3, perRequest: 3, toolPreamble: 346, perMedia: 1600 };
// Gemini: an image is 258 tokens (up to 384 px per side; tiles of 258 beyond).
export const GEMINI_PROFILE: TokenizerProfile = { name: "o200k_base x 1.10", encoding: "o200k_base", factor: 1.1, perMessage: 1, perRequest: 0, toolPreamble: 0, perMedia: 258 };

/** Older OpenAI models (GPT-4, GPT-3.5, ada/v3 embeddings) use cl100k_base; every newer one o200k_base. */
const CL100K_MODELS = /^(gpt-4(-|$)|gpt-4-turbo|gpt-3\.5|text-embedding-(3|ada))/;

export function tokenizerProfile(format: WireFormat, model: string | undefined): TokenizerProfile {
  // Bedrock's traffic is Claude's, and Converse counts it the same way.
  if (format === "anthropic-messages" || format === "bedrock-invoke" || format === "bedrock-converse") return ANTHROPIC_PROFILE;
  if (format === "gemini") return GEMINI_PROFILE;
  const bare = (model ?? "").replace(/^.*\//, "");
  return CL100K_MODELS.test(bare) ? OPENAI_CL100K : OPENAI_O200K;
}

/**
 * Starts loading the encoding an estimate for `format`/`model` would count with, so that the
 * estimate is exact when it comes. The proxy calls it when a streamed request goes out (a
 * stream is what clients abort and upstreams cut, seconds into the answer; the load takes
 * ~300 ms); any other estimate loads its encoding with its first count. No-op once loaded.
 */
export function prepareEstimate(format: WireFormat, model: string | undefined): void {
  if (format === "none") return;
  void loadTokenizer(tokenizerProfile(format, model).encoding);
}

/** Prompt tokens of a request body, as the provider would count them (estimated). */
export function estimateInputTokens(format: WireFormat, model: string | undefined, body: JsonRecord | undefined, bodyBytes: number): number {
  const profile = tokenizerProfile(format, model);
  if (!body) {
    // A body that was not JSON (multipart upload) or not read: its size is the bound.
    return Math.ceil(bodyBytes / 4);
  }
  const parts = promptParts(format, body);
  const text = Math.ceil(countTokens(parts.text, profile.encoding) * profile.factor);
  return text + parts.messages * profile.perMessage + profile.perRequest + (parts.tools ? profile.toolPreamble : 0) + parts.media * profile.perMedia;
}

/** Tokens of generated text (answer, reasoning, tool calls) as the provider would count them (estimated). */
export function estimateOutputTokens(format: WireFormat, model: string | undefined, text: string, scale = 1): number {
  const profile = tokenizerProfile(format, model);
  return Math.ceil(countTokens(text, profile.encoding) * profile.factor * scale);
}

export interface EstimateInput {
  format: WireFormat;
  model: string | undefined;
  /** The request body as the upstream received it (parsed JSON), when it was JSON. */
  body: JsonRecord | undefined;
  bodyBytes: number;
  /** What the usage reader saw: partial usage (Anthropic's message_start, Gemini's running counts) is kept. */
  report: UsageReport;
  /** Generated text the gateway relayed, and its scale past the kept cap. */
  output: { text: string; scale: number };
}

/**
 * Usage for a response whose provider usage never arrived. Input-side counts the upstream
 * already reported are exact and kept (Anthropic sends them first, Gemini on every chunk);
 * otherwise the prompt is counted from the body. Output is the larger of what the upstream
 * reported so far and the relayed text counted. Reasoning the provider never streams
 * (OpenAI's hidden reasoning tokens) cannot be seen and is not in the figure.
 */
export function estimateUsage(input: EstimateInput): TokenUsage {
  const seen = input.report.usage;
  const seenInput = seen.inputTokens + seen.cacheReadTokens + seen.cacheWrite5mTokens + seen.cacheWrite1hTokens;
  const usage: TokenUsage = seenInput > 0 ? { ...seen } : { ...zeroUsage(), inputTokens: estimateInputTokens(input.format, input.model, input.body, input.bodyBytes) };
  if (input.format === "openai-embeddings") return { ...usage, outputTokens: 0 };
  usage.outputTokens = Math.max(seen.outputTokens, estimateOutputTokens(input.format, input.model, input.output.text, input.output.scale));
  usage.reasoningTokens = Math.min(seen.reasoningTokens, usage.outputTokens);
  return usage;
}
