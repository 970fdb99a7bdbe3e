import type { Kysely } from "kysely";

/**
 * 015: budget overrides and the alert outbox (docs/governance.md).
 *
 * - budget_overrides: an admin raises a budget (+$ until a time) or sets a new cap for a
 *   period; every instance reads the active ones from here (policy/overrides).
 * - budget_resets: "start this budget's period over from now": an epoch the budget check reads
 *   (the counter key carries it, the reconciler sums the ledger from it). No ledger row is
 *   deleted or changed.
 * - alert_outbox: one row per (alert event, webhook target); a background sender claims due
 *   rows under a lease, delivers, and marks them delivered or failed. dedupe_key is unique, so
 *   an event that several requests or instances raise at once is stored (and sent) once.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("budget_overrides")
    .addColumn("id", "text", (col) => col.primaryKey())
    // Budget scope as the counters key it: user:<caller id> (people and service accounts) or group:<name>.
    .addColumn("scope", "text", (col) => col.notNull())
    // day | month
    .addColumn("period", "text", (col) => col.notNull())
    // raise (amount_usd added to the limit) | cap (amount_usd replaces the limit)
    .addColumn("kind", "text", (col) => col.notNull())
    .addColumn("amount_usd", "double precision", (col) => col.notNull())
    .addColumn("starts_at", "bigint", (col) => col.notNull())
    // Exclusive: the override stops applying at this instant.
    .addColumn("ends_at", "bigint", (col) => col.notNull())
    .addColumn("reason", "text", (col) => col.notNull())
    .addColumn("actor", "text", (col) => col.notNull())
    .addColumn("created_at", "bigint", (col) => col.notNull())
    .addColumn("revoked_at", "bigint")
    .addColumn("revoked_by", "text")
    .execute();
  await db.schema.createIndex("budget_overrides_ends_idx").on("budget_overrides").columns(["ends_at"]).execute();

  await db.schema
    .createTable("budget_resets")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("scope", "text", (col) => col.notNull())
    .addColumn("period", "text", (col) => col.notNull())
    // The period reset: YYYY-MM-DD (day) or YYYY-MM (month), UTC.
    .addColumn("period_key", "text", (col) => col.notNull())
    // Spend from this instant on counts; what came before in the same period does not.
    .addColumn("reset_at", "bigint", (col) => col.notNull())
    .addColumn("reason", "text", (col) => col.notNull())
    .addColumn("actor", "text", (col) => col.notNull())
    .addColumn("created_at", "bigint", (col) => col.notNull())
    .execute();
  await db.schema.createIndex("budget_resets_period_idx").on("budget_resets").columns(["period_key"]).execute();

  await db.schema
    .createTable("alert_outbox")
    .addColumn("id", "text", (col) => col.primaryKey())
    // The event's id: the idempotency key the receiver sees (same on every attempt).
    .addColumn("event_id", "text", (col) => col.notNull())
    // The webhook's name under policy.alerts.webhooks.
    .addColumn("target", "text", (col) => col.notNull())
    .addColumn("dedupe_key", "text", (col) => col.notNull().unique())
    .addColumn("kind", "text", (col) => col.notNull())
    // JSON of the event.
    .addColumn("payload", "text", (col) => col.notNull())
    // pending | sending | delivered | failed | dropped
    .addColumn("status", "text", (col) => col.notNull())
    .addColumn("attempts", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("not_before", "bigint", (col) => col.notNull().defaultTo(0))
    .addColumn("lease_owner", "text")
    .addColumn("lease_expires_at", "bigint")
    .addColumn("last_error", "text")
    .addColumn("last_status", "integer")
    .addColumn("created_at", "bigint", (col) => col.notNull())
    .addColumn("finished_at", "bigint")
    .execute();
  await db.schema.createIndex("alert_outbox_due_idx").on("alert_outbox").columns(["status", "not_before"]).execute();
}
