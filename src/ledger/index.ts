export { BatchedLedgerWriter, kyselyLedgerInsert } from "./writer.ts";
export type { LedgerRow, LedgerSink, LedgerWriterOptions, LedgerInsert } from "./writer.ts";
export { usageSummary } from "./queries.ts";
export type { UsageGroup, UsageQuery, UsageSummaryRow } from "./queries.ts";
export { blankLedgerRow } from "./row.ts";
export type { LedgerRowIdentity } from "./row.ts";
export type { LedgerSpool, SpoolSegment } from "./spool.ts";
export type { LedgerCloseResult, LedgerStats } from "./writer.ts";
