import { dirname } from "node:path";
import { Worker } from "node:worker_threads";
import { ensurePrivateDir, ensurePrivateFile } from "./private-files.ts";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import type { LedgerInsert } from "../../ledger/index.ts";
import { LEDGER_COLUMNS, ledgerValues, type Database } from "../../store/index.ts";

const handles = new WeakMap<Kysely<Database>, BetterSqlite3.Database>();

/** The embedded default store: one SQLite file in WAL mode. */
export function openSqlite(file: string): Kysely<Database> {
  if (file !== ":memory:") {
    ensurePrivateDir(dirname(file));
    ensurePrivateFile(file);
  }
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

/**
 * The embedded store's ledger writes, in a worker thread with its own connection: a batch
 * of 500 rows is several milliseconds of synchronous SQLite work that would otherwise stall
 * every request in flight. Rows cross as one JSON string of column-value arrays; `insert` resolves when
 * the batch is committed, so the ledger's shutdown flush still waits for the disk. The worker's
 * statement names the store's LEDGER_COLUMNS and each row is bound with ledgerValues, the same
 * definition the Kysely insert (PostgreSQL, D1) writes.
 */
export function openSqliteLedgerWriter(file: string): { insert: LedgerInsert; close(): Promise<void> } {
  const worker = new Worker(new URL("./sqlite-ledger-worker.mjs", import.meta.url), { workerData: { file, columns: LEDGER_COLUMNS } });
  worker.unref();
  const pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;
  worker.on("message", (reply: { id: number; error?: string }) => {
    const waiter = pending.get(reply.id);
    if (!waiter) return;
    pending.delete(reply.id);
    if (reply.error !== undefined) waiter.reject(new Error(`ledger write failed: ${reply.error}`));
    else waiter.resolve();
  });
  worker.on("error", (err) => {
    failure = err;
    for (const waiter of pending.values()) waiter.reject(err);
    pending.clear();
  });
  return {
    insert(rows) {
      if (failure) return Promise.reject(failure);
      const values = rows.map(ledgerValues);
      return new Promise<void>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        // As one JSON string: cloning a string is a copy, cloning arrays of values walks each one.
        worker.postMessage({ id, rows: JSON.stringify(values) });
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}
