/** Usage the gateway counts itself when the provider's never arrived (see docs/usage-and-pricing.md). */
export { estimateUsage, prepareEstimate, estimateInputTokens, estimateOutputTokens, tokenizerProfile, ANTHROPIC_PROFILE, GEMINI_PROFILE, type EstimateInput, type TokenizerProfile } from "./estimate.ts";
export { OutputTextCollector, bodyOutputText, looseStrings, OUTPUT_KEEP_CHARS, COMPACT_AT_CHARS } from "./output-text.ts";
export { promptParts, type PromptParts } from "./request-text.ts";
export { countTokens, loadTokenizer, preloadTokenizers, tokenizerLoaded, tokenizerLoadFailure, MAX_TOKENIZED_CHARS, FALLBACK_BYTES_PER_TOKEN, type Encoding } from "./tokens.ts";
