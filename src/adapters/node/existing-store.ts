import { statSync } from "node:fs";
import { resolve } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { sql, type Kysely } from "kysely";
import type { Settings } from "../../core/settings.ts";
import type { Database } from "../../store/index.ts";
import { openStore, sqliteFile } from "./store.ts";

/** Where the gateway keeps what a read-only command looks for, and how to point at it. */
const FIX = "Point --data-dir (or GATEHOUSE_DATA_DIR) at the data directory the gateway runs with (`gatehouse serve --data-dir …`, default ./.gatehouse), " + "or set DATABASE_URL to the gateway's PostgreSQL database. Nothing was created.";

/**
 * The store for commands that read (and at most append an audit row): `usage`, `mcp audit`,
 * `identity resolve|audit`, `token list|revoke`. Unlike `openStore` it never creates a store:
 * a mistyped `--data-dir` (or a DATABASE_URL naming the wrong database) would otherwise get a
 * fresh empty one, and the command would answer "no usage" as if that were true. A store is
 * the gateway's when it holds the ledger table; only then is it opened (and migrated) as usual.
 */
export async function openExistingStore(settings: Settings): Promise<Kysely<Database>> {
  if (settings.databaseUrl) {
    // PostgreSQL's driver loads only when DATABASE_URL asks for it (CLI start-up).
    const { isPostgresUrl, redactUrl } = await import("./postgres.ts");
    // A malformed URL gets openStore's own error.
    if (isPostgresUrl(settings.databaseUrl) && !(await postgresHasLedger(settings.databaseUrl))) {
      throw new Error(`the PostgreSQL database at ${redactUrl(settings.databaseUrl)} has no Gatehouse tables (no ledger). ${FIX}`);
    }
  } else {
    const file = resolve(sqliteFile(settings));
    const stat = statSync(file, { throwIfNoEntry: false });
    if (!stat) throw new Error(`no Gatehouse database at ${file}. ${FIX}`);
    if (!stat.isFile()) throw new Error(`not a database file: ${file}. ${FIX}`);
    if (!sqliteHasLedger(file)) throw new Error(`${file} is not a Gatehouse database (no ledger table). ${FIX}`);
  }
  return openStore(settings);
}

function sqliteHasLedger(file: string): boolean {
  // Read-only and must exist: the probe itself creates nothing.
  const probe = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    return probe.prepare("select 1 from sqlite_master where type = 'table' and name = 'ledger'").get() !== undefined;
  } catch (err) {
    throw new Error(`${file} is not a readable SQLite database: ${err instanceof Error ? err.message : String(err)}. ${FIX}`, { cause: err });
  } finally {
    probe.close();
  }
}

async function postgresHasLedger(url: string): Promise<boolean> {
  const { openPostgres, redactUrl } = await import("./postgres.ts");
  const probe = openPostgres(url, { maxConnections: 1, applicationName: "gatehouse-cli" });
  try {
    // to_regclass follows search_path, as the gateway's own queries do.
    const { rows } = await sql<{ present: boolean }>`select to_regclass('ledger') is not null as present`.execute(probe);
    return rows[0]?.present === true;
  } catch (err) {
    throw new Error(`Cannot read PostgreSQL at ${redactUrl(url)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  } finally {
    await probe.destroy();
  }
}
