export type { Database, LedgerTable, StreamOutcome } from "./schema.ts";
export { LEDGER_COLUMNS, LEDGER_COLUMN_SPECS, ledgerRecord, ledgerValues } from "./ledger-columns.ts";
export type { LedgerColumn, LedgerColumnSpec } from "./ledger-columns.ts";
export { migrateToLatest } from "./migrate.ts";
export { migrations } from "./migrations/index.ts";
