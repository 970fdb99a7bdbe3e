export { BatchedLedgerWriter } from "./writer.ts";
export type { LedgerRow, LedgerSink, LedgerWriterOptions } from "./writer.ts";
export { usageSummary } from "./queries.ts";
export type { UsageGroup, UsageQuery, UsageSummaryRow } from "./queries.ts";
