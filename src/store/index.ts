export type { Database, LedgerTable, StreamOutcome } from "./schema.ts";
export { migrateToLatest } from "./migrate.ts";
export { migrations } from "./migrations/index.ts";
