import { Worker } from "node:worker_threads";
import { Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, type CompiledQuery, type DatabaseConnection, type Dialect, type Driver, type QueryResult } from "kysely";
import type { Database } from "../../store/index.ts";

interface Reply {
  id: number;
  rows?: unknown[];
  error?: string;
}

/**
 * A read-only connection to the embedded SQLite file that runs its queries in a worker
 * thread. better-sqlite3 is synchronous: a dashboard's month of aggregates on the main
 * thread would stall every request in flight for as long as the scan takes. WAL lets this
 * reader see committed rows while the gateway writes.
 */
export function openSqliteReader(file: string): { db: Kysely<Database>; close(): Promise<void> } {
  const worker = new Worker(new URL("./sqlite-reader-worker.mjs", import.meta.url), { workerData: { file } });
  worker.unref();
  const pending = new Map<number, { resolve: (rows: unknown[]) => void; reject: (err: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;
  worker.on("message", (reply: Reply) => {
    const waiter = pending.get(reply.id);
    if (!waiter) return;
    pending.delete(reply.id);
    if (reply.error !== undefined) waiter.reject(new Error(`analytics query failed: ${reply.error}`));
    else waiter.resolve(reply.rows ?? []);
  });
  worker.on("error", (err) => {
    failure = err;
    for (const waiter of pending.values()) waiter.reject(err);
    pending.clear();
  });

  const run = (sql: string, parameters: readonly unknown[]): Promise<unknown[]> => {
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, sql, parameters });
    });
  };

  const connection: DatabaseConnection = {
    async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
      return { rows: (await run(query.sql, query.parameters)) as R[] };
    },
    streamQuery(): AsyncIterableIterator<never> {
      throw new Error("The analytics connection does not stream.");
    },
  };
  const driver: Driver = {
    init: async () => undefined,
    acquireConnection: async () => connection,
    beginTransaction: async () => {
      throw new Error("The analytics connection is read-only.");
    },
    commitTransaction: async () => undefined,
    rollbackTransaction: async () => undefined,
    releaseConnection: async () => undefined,
    destroy: async () => undefined,
  };
  const dialect: Dialect = {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => driver,
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  };
  return {
    db: new Kysely<Database>({ dialect }),
    async close() {
      await worker.terminate();
    },
  };
}
