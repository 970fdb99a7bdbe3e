import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Kysely } from "kysely";
import type { Database } from "../../store/index.ts";

/**
 * Refuses to start on a data directory the gateway cannot write: it holds the embedded store,
 * the ledger spool (rows the store could not take) and generated keys, and a gateway that
 * cannot write them would serve requests it cannot account for.
 */
export function assertDataDirWritable(dataDir: string): void {
  const dir = resolve(dataDir);
  const probe = join(dir, `.write-probe-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, "gatehouse write probe\n", { flush: true });
    rmSync(probe, { force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
    throw new Error(
      `The data directory ${dir} is not writable (${code}). Gatehouse keeps the embedded store, the ledger spool (rows the store could not take yet) and generated keys there, and will not serve requests it could not record. Make the directory writable by the user running gatehouse (chown/chmod, or mount it read-write), or point GATEHOUSE_DATA_DIR / --data-dir at a writable directory.`,
      { cause: err },
    );
  }
}

class ProbeRollback extends Error {}

const FIX = "For SQLite, make the file and its directory owned and writable by the user running gatehouse (and the disk not full); for PostgreSQL, connect to the primary (not a standby) as a role that may INSERT, UPDATE and DELETE on Gatehouse's tables.";

/** The error for a store that cannot be opened or written, with what to do about it. */
export function storeNotWritable(where: string, err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`The store (${where}) is not writable: ${message}. Gatehouse records every request in it and will not start without that. ${FIX}`, { cause: err });
}

/**
 * Refuses to start on a store that cannot be written (a read-only file or mount, a standby
 * PostgreSQL, a role without INSERT): writes a row in a transaction that is rolled back.
 */
export async function assertStoreWritable(db: Kysely<Database>, where: string): Promise<void> {
  try {
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto("cluster_leases")
        .values({ name: `write-probe:${process.pid}`, holder: "gatehouse start", expires_at: 0 })
        .onConflict((oc) => oc.column("name").doUpdateSet({ expires_at: 0 }))
        .execute();
      throw new ProbeRollback("rolled back on purpose");
    });
  } catch (err) {
    if (err instanceof ProbeRollback) return;
    throw storeNotWritable(where, err);
  }
}
