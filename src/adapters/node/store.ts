import { join } from "node:path";
import type { Kysely } from "kysely";
import type { Logger } from "../../core/logger.ts";
import type { Settings } from "../../core/settings.ts";
import type { StoreHealth } from "../../store/health.ts";
import { migrateToLatest, type Database } from "../../store/index.ts";
import { openSqlite } from "./sqlite.ts";
import { storeNotWritable } from "./store-checks.ts";

// Apart from server.ts so the CLI's store commands (usage, token, identity, mcp audit) load the
// store and nothing of the server; PostgreSQL's driver loads only when DATABASE_URL asks for it.

/** The embedded store's file. */
export function sqliteFile(settings: Settings): string {
  return join(settings.dataDir, "gatehouse.db");
}

/** Opens the configured store: PostgreSQL when DATABASE_URL is set, else the embedded SQLite file. */
export async function openStore(settings: Settings, options: { logger?: Logger; health?: StoreHealth } = {}): Promise<Kysely<Database>> {
  if (settings.databaseUrl) {
    const { isPostgresUrl, openPostgresStore, redactUrl } = await import("./postgres.ts");
    if (!isPostgresUrl(settings.databaseUrl)) throw new Error("DATABASE_URL must be a postgres:// or postgresql:// URL; unset it to use the embedded SQLite store.");
    try {
      return await openPostgresStore(settings.databaseUrl, { applicationName: `gatehouse-${process.pid}`, ...options });
    } catch (err) {
      // Migrating needs writes: a standby (25006) or a role without rights (42501) fails here.
      const code = (err as { code?: unknown }).code;
      if (code === "25006" || code === "42501") throw storeNotWritable(redactUrl(settings.databaseUrl), err);
      throw err;
    }
  }
  let db: Kysely<Database>;
  try {
    db = openSqlite(sqliteFile(settings));
  } catch (err) {
    // A file of another user or on a read-only mount fails here (chmod, open): say what to fix.
    throw storeNotWritable(sqliteFile(settings), err);
  }
  await migrateToLatest(db);
  return db;
}
