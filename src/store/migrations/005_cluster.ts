import type { Kysely } from "kysely";

/**
 * State shared by every gateway instance (see docs/deploy.md): exact budget counters with
 * expiring reservations, rate-limit windows, leases (one instance runs a periodic job) and
 * published snapshots (org config, catalog) that the other instances poll. Single-process
 * deployments create the tables too and never touch them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("budget_counters")
    .addColumn("key", "text", (col) => col.primaryKey())
    .addColumn("settled_usd", "double precision", (col) => col.notNull().defaultTo(0))
    .addColumn("updated_at", "bigint", (col) => col.notNull())
    .execute();

  // One row per (reservation, counter key); rows of an instance that died expire instead of holding budget forever.
  await db.schema
    .createTable("budget_reservations")
    .addColumn("id", "text", (col) => col.notNull())
    .addColumn("key", "text", (col) => col.notNull())
    .addColumn("amount_usd", "double precision", (col) => col.notNull())
    .addColumn("expires_at", "bigint", (col) => col.notNull())
    .addPrimaryKeyConstraint("budget_reservations_pk", ["id", "key"])
    .execute();
  await db.schema.createIndex("budget_reservations_key_idx").on("budget_reservations").columns(["key", "expires_at"]).execute();

  // Sliding-window rate limits: the amount taken per key and fixed minute.
  await db.schema
    .createTable("rate_windows")
    .addColumn("key", "text", (col) => col.notNull())
    .addColumn("window_start", "bigint", (col) => col.notNull())
    .addColumn("amount", "double precision", (col) => col.notNull().defaultTo(0))
    .addPrimaryKeyConstraint("rate_windows_pk", ["key", "window_start"])
    .execute();

  await db.schema
    .createTable("cluster_leases")
    .addColumn("name", "text", (col) => col.primaryKey())
    .addColumn("holder", "text", (col) => col.notNull())
    .addColumn("expires_at", "bigint", (col) => col.notNull())
    .execute();

  await db.schema
    .createTable("cluster_snapshots")
    .addColumn("name", "text", (col) => col.primaryKey())
    .addColumn("revision", "bigint", (col) => col.notNull())
    .addColumn("digest", "text", (col) => col.notNull())
    .addColumn("body", "text", (col) => col.notNull())
    .addColumn("published_by", "text", (col) => col.notNull())
    .addColumn("updated_at", "bigint", (col) => col.notNull())
    .execute();
}
