import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import type { LedgerInsert, LedgerRow } from "../../ledger/index.ts";
import type { Database } from "../../store/index.ts";

const handles = new WeakMap<Kysely<Database>, BetterSqlite3.Database>();

/** The embedded default store: one SQLite file in WAL mode. */
export function openSqlite(file: string): Kysely<Database> {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const sqlite = new BetterSqlite3(file);
  // WAL lets the dashboard and CLI read while the gateway writes; NORMAL is durable across
  // process crashes in WAL mode, and busy_timeout covers a second process (the CLI).
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("foreign_keys = ON");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  handles.set(db, sqlite);
  return db;
}

const LEDGER_COLUMNS = [
  "request_id", "ts", "day", "caller_id", "team", "provider", "model", "endpoint", "streamed", "status", "outcome",
  "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "reasoning_tokens",
  "cost_usd", "unpriced", "upstream_latency_ms", "ttfb_ms", "duration_ms", "error_code", "requested_model", "attempts",
] as const satisfies readonly (keyof LedgerRow)[];

/**
 * The ledger insert for the embedded store: one prepared statement run per row inside one
 * transaction. A generic multi-row insert made SQLite parse a 13,000-parameter statement
 * per batch, which cost about as much CPU as proxying the requests themselves.
 */
export function sqliteLedgerInsert(db: Kysely<Database>): LedgerInsert | undefined {
  const sqlite = handles.get(db);
  if (!sqlite) return undefined;
  // Positional parameters: binding by name cost a third more per row.
  const statement = sqlite.prepare(`insert into ledger (${LEDGER_COLUMNS.join(", ")}) values (${LEDGER_COLUMNS.map(() => "?").join(", ")}) on conflict (request_id) do nothing`);
  const values: unknown[] = new Array(LEDGER_COLUMNS.length);
  const insertAll = sqlite.transaction((rows: readonly LedgerRow[]) => {
    for (const row of rows) {
      for (let i = 0; i < LEDGER_COLUMNS.length; i++) values[i] = row[LEDGER_COLUMNS[i] as (typeof LEDGER_COLUMNS)[number]] ?? null;
      statement.run(values);
    }
  });
  return async (rows) => {
    insertAll(rows);
  };
}
