import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, sql } from "kysely";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore } from "../../src/adapters/node/postgres.ts";
import { openSqlite, openSqliteLedgerWriter } from "../../src/adapters/node/sqlite.ts";
import type { D1Database } from "../../src/adapters/workers/bindings.ts";
import { D1Dialect, d1LedgerInsert } from "../../src/adapters/workers/d1-dialect.ts";
import { migrateD1 } from "../../src/adapters/workers/migrate-d1.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { BatchedLedgerWriter, type LedgerInsert, type LedgerRow } from "../../src/ledger/index.ts";
import { LEDGER_COLUMN_SPECS, LEDGER_COLUMNS, migrateToLatest, type Database, type LedgerColumnSpec } from "../../src/store/index.ts";
import { startTestDatabase, type TestDatabase } from "../scale/postgres.ts";
import { WORKER_COMPATIBILITY_DATE } from "../scale/workerd.ts";

/**
 * The ledger's one column definition (src/store/ledger-columns.ts) against what each dialect
 * really has after migrating, and what each dialect's writer really stores. Nothing here
 * names a column: a column added to the definition without a migration (or a migration
 * without the definition) fails every dialect.
 */

interface ActualColumn {
  type: string;
  nullable: boolean;
  default: number | undefined;
  primaryKey: boolean;
}

/** The definition as the migrated schema should report it. */
const expectedColumns: Record<string, ActualColumn> = Object.fromEntries(
  Object.entries(LEDGER_COLUMN_SPECS).map(([name, spec]: [string, LedgerColumnSpec]) => [name, { type: spec.type, nullable: spec.nullable, default: spec.default, primaryKey: spec.primaryKey === true }]),
);

function parseDefault(value: unknown): number | undefined {
  if (value === null || value === undefined) return undefined;
  // PostgreSQL may report a typed literal ('0'::double precision); SQLite the bare text.
  const text = String(value)
    .replace(/::[a-z ]+$/i, "")
    .replace(/^'(.*)'$/, "$1");
  const number = Number(text);
  if (!Number.isFinite(number)) throw new Error(`unexpected column default ${String(value)}`);
  return number;
}

/**
 * A row with a value of the column's type in every column, none of them the column's default
 * and none null, so a column the writer skipped reads back different.
 */
function sampleRow(requestId: string): LedgerRow {
  const row: Record<string, unknown> = {};
  LEDGER_COLUMNS.forEach((column, i) => {
    const spec: LedgerColumnSpec = LEDGER_COLUMN_SPECS[column];
    if (column === "request_id") row[column] = requestId;
    else if (spec.type === "text") row[column] = `${column}-value`;
    else if (spec.type === "bigint") row[column] = 1_764_000_000_000 + i;
    else if (spec.type === "integer") row[column] = 100 + i;
    else row[column] = i + 0.5;
  });
  return row as unknown as LedgerRow;
}

interface SqliteColumnInfo {
  name: string;
  type: string;
  notnull: number;
  dflt_value: unknown;
  pk: number;
}

/**
 * SQLite (and D1, which is SQLite) reports a text PRIMARY KEY as nullable: a long-standing
 * SQLite quirk (only INTEGER PRIMARY KEY implies NOT NULL). PostgreSQL's key is NOT NULL. The
 * key column is compared as the key; its NULL-ness on SQLite is left to the LedgerRow type.
 */
function fromSqliteInfo(rows: readonly SqliteColumnInfo[]): Record<string, ActualColumn> {
  return Object.fromEntries(rows.map((c) => [c.name, { type: c.type.toLowerCase(), nullable: c.notnull === 0 && c.pk === 0, default: parseDefault(c.dflt_value), primaryKey: c.pk > 0 }]));
}

interface Dialect {
  name: string;
  db: () => Kysely<Database>;
  columns: () => Promise<Record<string, ActualColumn>>;
  /** The adapter's own insert, when it has one (the embedded SQLite worker); else the portable Kysely insert. */
  insert?: () => LedgerInsert;
}

let dir: string;
let sqliteFile: string;
let sqliteDb: Kysely<Database>;
let sqliteWriter: ReturnType<typeof openSqliteLedgerWriter>;
let pgDatabase: TestDatabase;
let pgDb: Kysely<Database>;
let mf: Miniflare;
let d1: D1Database;
let d1Db: Kysely<Database>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-ledger-columns-"));
  sqliteFile = join(dir, "gatehouse.db");
  sqliteDb = openSqlite(sqliteFile);
  await migrateToLatest(sqliteDb);
  sqliteWriter = openSqliteLedgerWriter(sqliteFile);

  pgDatabase = await startTestDatabase();
  pgDb = await openPostgresStore(pgDatabase.url);

  // Miniflare's local D1 (workerd's own SQLite), driven from here through the Worker's D1 dialect and migrator.
  mf = new Miniflare({ modules: true, script: "export default { fetch() { return new Response(null, { status: 204 }); } };", compatibilityDate: WORKER_COMPATIBILITY_DATE, d1Databases: { DB: "ledger-columns-test" } });
  d1 = (await mf.getD1Database("DB")) as unknown as D1Database;
  d1Db = new Kysely<Database>({ dialect: new D1Dialect(d1) });
  await migrateD1(d1Db);
}, 180_000);

afterAll(async () => {
  await sqliteWriter?.close();
  await sqliteDb?.destroy();
  await pgDb?.destroy();
  await pgDatabase?.close();
  await mf?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const dialects: Dialect[] = [
  {
    name: "SQLite (embedded, ledger worker thread)",
    db: () => sqliteDb,
    insert: () => sqliteWriter.insert,
    columns: async () => {
      const handle = new BetterSqlite3(sqliteFile, { readonly: true, fileMustExist: true });
      try {
        return fromSqliteInfo(handle.prepare("pragma table_info(ledger)").all() as SqliteColumnInfo[]);
      } finally {
        handle.close();
      }
    },
  },
  {
    name: "PostgreSQL",
    db: () => pgDb,
    columns: async () => {
      const { rows } = await sql<{ column_name: string; data_type: string; is_nullable: string; column_default: unknown }>`
        select column_name, data_type, is_nullable, column_default from information_schema.columns
        where table_schema = current_schema() and table_name = 'ledger'`.execute(pgDb);
      const key = await sql<{ attname: string }>`
        select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
        where i.indrelid = 'ledger'::regclass and i.indisprimary`.execute(pgDb);
      const keyColumns = new Set(key.rows.map((r) => r.attname));
      return Object.fromEntries(rows.map((c) => [c.column_name, { type: c.data_type.toLowerCase(), nullable: c.is_nullable === "YES", default: parseDefault(c.column_default), primaryKey: keyColumns.has(c.column_name) }]));
    },
  },
  {
    name: "D1 (Miniflare)",
    db: () => d1Db,
    // What the Worker's composition hands its ledger writer (adapters/workers/index.ts).
    insert: () => d1LedgerInsert(d1Db, 500),
    columns: async () => {
      const { results } = await d1.prepare(`select name, type, "notnull", dflt_value, pk from pragma_table_info('ledger')`).all<SqliteColumnInfo>();
      return fromSqliteInfo(results);
    },
  },
];

// Real PostgreSQL and workerd: generous per-test time on a loaded 2-core machine.
describe.each(dialects)("ledger columns on $name", { timeout: 120_000 }, (dialect) => {
  it("the migrated table has exactly the defined columns, types, nullability and defaults", async () => {
    expect(await dialect.columns()).toEqual(expectedColumns);
  });

  it("rows written through the dialect's ledger writer, a whole batch in one flush, read back with every column", async () => {
    // 25 rows × every column: more values than D1 binds to one statement (100).
    const rows = Array.from({ length: 25 }, (_, i) => sampleRow(`cols-${dialect.name.split(" ")[0]}-batch-${String(i).padStart(2, "0")}`));
    const writer = new BatchedLedgerWriter(dialect.db(), { flushMs: 5, batchSize: 500, logger: silentLogger, insert: dialect.insert?.(), maxRetryMs: 50 });
    for (const row of rows) writer.record(row);
    const closed = await writer.close(5_000);
    expect(closed).toEqual({ spooled: 0, spoolFile: undefined, lost: 0 });
    const stored = await dialect
      .db()
      .selectFrom("ledger")
      .selectAll()
      .where("request_id", "like", `cols-${dialect.name.split(" ")[0]}-batch-%`)
      .orderBy("request_id")
      .execute();
    expect(stored.length).toBe(rows.length);
    for (const row of stored) expect(Object.keys(row).sort()).toEqual([...LEDGER_COLUMNS].sort());
    expect(stored).toEqual(rows);
  });

  it("writes only the defined columns: a stray property on a row does not reach the SQL", async () => {
    const row = { ...sampleRow(`cols-${dialect.name.split(" ")[0]}-2`), not_a_ledger_column: "x" };
    const writer = new BatchedLedgerWriter(dialect.db(), { flushMs: 5, batchSize: 10, logger: silentLogger, insert: dialect.insert?.() });
    writer.record(row);
    expect(await writer.close()).toEqual({ spooled: 0, spoolFile: undefined, lost: 0 });
    const stored = await dialect.db().selectFrom("ledger").selectAll().where("request_id", "=", row.request_id).executeTakeFirstOrThrow();
    expect(Object.keys(stored).sort()).toEqual([...LEDGER_COLUMNS].sort());
  });
});
