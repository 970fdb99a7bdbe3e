/** Usage extraction per wire format, the shared SSE parser, and pricing. */
export { createUsageReader, JSON_BODY_CAP_BYTES, type UsageReaderOptions } from "./reader.ts";
export { createSseParser, parseSseBlock, SseParser, SseEventFramer, type SseEvent, type SseParserOptions, type SseEventFramerOptions } from "./sse.ts";
export { createInjectedUsageFilter, isUsageOnlyEvent, type InjectedUsageFilter } from "./injected-usage-filter.ts";
export { priceUsage, promptTokens, CACHE_WRITE_1H_MULTIPLIER, CACHE_WRITE_5M_MULTIPLIER } from "./pricing.ts";
export { zeroUsage } from "./types.ts";
export type { TokenUsage, WireFormat, UsageReport, UsageReader, ModelPrice, PriceTier } from "./types.ts";
export { CappedBody } from "./body-buffer.ts";
