import type { Kysely } from "kysely";
import type { Database } from "../../../store/index.ts";

/**
 * Claims the named lease until `now + ttlMs` if it is free or expired. Exactly one of many
 * concurrent callers gets `true` per expiry: the conditional upsert is a single statement,
 * and the row lock makes the second writer re-check `expires_at` after the first committed.
 * Used as "run this job once per interval cluster-wide": the lease is not renewed early.
 */
export async function tryAcquireLease(db: Kysely<Database>, name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
  const row = await db
    .insertInto("cluster_leases")
    .values({ name, holder, expires_at: now + ttlMs })
    .onConflict((oc) =>
      oc
        .column("name")
        .doUpdateSet({ holder, expires_at: now + ttlMs })
        .where("cluster_leases.expires_at", "<=", now),
    )
    .returning("holder")
    .executeTakeFirst();
  return row?.holder === holder;
}

/**
 * Holds the named lease for `holder` until `expiresAt`, whoever held it before: an instance's
 * own lease (`instance:<id>`), renewed by its heartbeat. A row whose `expires_at` has passed
 * marks an instance that stopped beating (crashed, partitioned, paused).
 */
export async function renewLease(db: Kysely<Database>, name: string, holder: string, expiresAt: number): Promise<void> {
  await db
    .insertInto("cluster_leases")
    .values({ name, holder, expires_at: expiresAt })
    .onConflict((oc) => oc.column("name").doUpdateSet({ holder, expires_at: expiresAt }))
    .execute();
}

/** Gives the lease up (a clean stop), if `holder` still holds it. */
export async function releaseLease(db: Kysely<Database>, name: string, holder: string): Promise<void> {
  await db.deleteFrom("cluster_leases").where("name", "=", name).where("holder", "=", holder).execute();
}
