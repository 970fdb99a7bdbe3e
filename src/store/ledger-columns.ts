/**
 * The ledger's columns, once, at run time: every insert path (the embedded SQLite worker's
 * prepared statement, the portable Kysely insert PostgreSQL and D1 use) writes exactly these,
 * in this order, and `LedgerTable` (schema.ts) is checked against this list in both
 * directions at compile time. `test/store/ledger-columns.test.ts` checks that the migrated
 * schema of every dialect has exactly these columns, of these types, nullability and defaults.
 * Adding a column: add it here, to `LedgerTable`, and in a new migration.
 */
export const LEDGER_COLUMN_SPECS = {
  request_id: { type: "text", nullable: false, primaryKey: true },
  ts: { type: "bigint", nullable: false },
  day: { type: "text", nullable: false },
  caller_id: { type: "text", nullable: false },
  team: { type: "text", nullable: true },
  provider: { type: "text", nullable: false },
  model: { type: "text", nullable: false },
  endpoint: { type: "text", nullable: false },
  streamed: { type: "integer", nullable: false, default: 0 },
  status: { type: "integer", nullable: false },
  outcome: { type: "text", nullable: false },
  input_tokens: { type: "integer", nullable: false, default: 0 },
  output_tokens: { type: "integer", nullable: false, default: 0 },
  cache_read_tokens: { type: "integer", nullable: false, default: 0 },
  cache_write_5m_tokens: { type: "integer", nullable: false, default: 0 },
  cache_write_1h_tokens: { type: "integer", nullable: false, default: 0 },
  reasoning_tokens: { type: "integer", nullable: false, default: 0 },
  cost_usd: { type: "double precision", nullable: false, default: 0 },
  unpriced: { type: "integer", nullable: false, default: 0 },
  upstream_latency_ms: { type: "double precision", nullable: true },
  ttfb_ms: { type: "double precision", nullable: true },
  duration_ms: { type: "double precision", nullable: false },
  error_code: { type: "text", nullable: true },
  requested_model: { type: "text", nullable: true },
  attempts: { type: "integer", nullable: false, default: 1 },
  estimated: { type: "integer", nullable: false, default: 0 },
  client: { type: "text", nullable: true },
  client_version: { type: "text", nullable: true },
  session_id: { type: "text", nullable: true },
  key_name: { type: "text", nullable: true },
  requested_provider: { type: "text", nullable: true },
} as const satisfies Record<string, LedgerColumnSpec>;

/** A column as the migrations create it: the SQL type name (the same on SQLite, PostgreSQL and D1), NULL or NOT NULL, its default, whether it is the key. */
export interface LedgerColumnSpec {
  type: "text" | "integer" | "bigint" | "double precision";
  nullable: boolean;
  default?: number;
  /** The row's key: a row written twice (a retried flush, a second instance) stays one row. */
  primaryKey?: true;
}

export type LedgerColumn = keyof typeof LEDGER_COLUMN_SPECS;

/** The columns in insert order (the order of the definition above). */
export const LEDGER_COLUMNS = Object.keys(LEDGER_COLUMN_SPECS) as readonly LedgerColumn[];

/** The TypeScript value a column spec stands for: what `LedgerTable` must declare for it. */
export type LedgerColumnValue<S extends LedgerColumnSpec> = (S["type"] extends "text" ? string : number) | (S["nullable"] extends true ? null : never);

/**
 * One row's values in column order, as every insert path binds them. A value the row lacks
 * (a row spooled to disk by an older version, before a column existed) takes the column's
 * default, else NULL, so the store's NOT NULL refuses what has no default instead of a
 * writer inventing one.
 */
export function ledgerValues(row: Readonly<Partial<Record<LedgerColumn, unknown>>>): unknown[] {
  return LEDGER_COLUMNS.map((column) => {
    const value = row[column];
    if (value !== undefined) return value;
    const spec: LedgerColumnSpec = LEDGER_COLUMN_SPECS[column];
    return spec.default ?? null;
  });
}

/** The row reduced to exactly the ledger's columns (no stray property reaches the SQL), with ledgerValues' defaults. */
export function ledgerRecord(row: Readonly<Partial<Record<LedgerColumn, unknown>>>): Record<LedgerColumn, unknown> {
  const values = ledgerValues(row);
  const out = {} as Record<LedgerColumn, unknown>;
  LEDGER_COLUMNS.forEach((column, i) => {
    out[column] = values[i];
  });
  return out;
}
