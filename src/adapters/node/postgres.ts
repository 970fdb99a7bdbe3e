import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { migrateToLatest, type Database } from "../../store/index.ts";
import type { StoreHealth } from "../../store/health.ts";
import { LogThrottle } from "../../core/log-throttle.ts";
import type { Logger } from "../../core/logger.ts";

export interface PostgresOptions {
  /** Connections per process; each gateway instance holds its own pool. */
  maxConnections?: number;
  /** Name shown in pg_stat_activity, to tell instances apart. */
  applicationName?: string;
  /** Where connection errors are reported (rate-limited); default: process warnings. */
  logger?: Logger;
  /** Told when a connection dies because the server went away (restart, crash, network). */
  health?: StoreHealth;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * pg returns int8 and numeric as strings (they can exceed 2^53). Every bigint column of the
 * store holds epoch milliseconds or token counts and every numeric is an aggregate of them,
 * so numbers are what the rest of the code expects, on every dialect alike. Scoped to this
 * pool (not pg's global type table), so nothing else in the process changes.
 */
const numberTypes = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
  },
};

/** Opens a pooled Kysely over PostgreSQL. Does not migrate: see openPostgresStore. */
export function openPostgres(url: string, options: PostgresOptions = {}): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 20,
    application_name: options.applicationName ?? "gatehouse",
    types: numberTypes,
    // A dead database must fail a request, not hang it.
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  const log = options.logger ? new LogThrottle(options.logger) : undefined;
  const report = (err: Error, state: "idle" | "checked out") => {
    options.health?.failed(err);
    if (log) log.warn({ err: { name: err.name, message: err.message }, state }, "PostgreSQL connection lost; the next query opens a new one");
    else process.emitWarning(`PostgreSQL ${state} connection error: ${err.message}`);
  };
  // A client whose server went away (a restart sends 57P01 to every session) emits 'error'.
  // pg-pool listens only while the client is idle in the pool; a client checked out by a
  // transaction between two statements has no listener, and an unhandled 'error' event ends
  // the process. So every client gets its own listener for its whole life: the statement in
  // progress fails with its own error (the caller handles it) and the pool drops the client.
  pool.on("connect", (client) => {
    client.on("error", (err) => report(err, "checked out"));
  });
  pool.on("error", (err) => report(err, "idle"));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

// Any constant: the key of the session advisory lock that serialises migrations.
const MIGRATION_LOCK_KEY = 0x6761_7465; // "gate"

/**
 * Opens and migrates. Several instances may start at once: Kysely's own migration lock only
 * covers applying migrations, not creating its bookkeeping tables, so the whole run holds a
 * cluster-wide advisory lock on a dedicated connection.
 */
export async function openPostgresStore(url: string, options: PostgresOptions = {}): Promise<Kysely<Database>> {
  const db = openPostgres(url, options);
  const lockClient = new pg.Client({ connectionString: url, application_name: "gatehouse-migrate", connectionTimeoutMillis: 10_000 });
  // A restart during start-up fails the migration with an error; it must not also crash the process.
  lockClient.on("error", (err) => options.logger?.warn({ err: { name: err.name, message: err.message } }, "PostgreSQL migration connection lost"));
  try {
    await lockClient.connect();
  } catch (err) {
    await db.destroy();
    throw new Error(`Cannot connect to PostgreSQL at ${redactUrl(url)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  try {
    await lockClient.query("select pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    await migrateToLatest(db);
  } catch (err) {
    await db.destroy();
    throw err;
  } finally {
    await lockClient.end();
  }
  return db;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch (err) {
    if (err instanceof TypeError) return "(unparseable DATABASE_URL)";
    throw err;
  }
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}
