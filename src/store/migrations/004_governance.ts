import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  // Which groups each (anonymous) caller belongs to, as last seen by the policy: the ledger
  // records one team per row, but a group budget counts every member's spend, so the
  // reconciler joins the ledger with this table to rebuild group spend after a restart.
  await db.schema
    .createTable("caller_groups")
    .addColumn("caller_id", "text", (col) => col.notNull())
    .addColumn("group_name", "text", (col) => col.notNull())
    .addColumn("updated_at", "bigint", (col) => col.notNull())
    .addPrimaryKeyConstraint("caller_groups_pk", ["caller_id", "group_name"])
    .execute();
  await db.schema.createIndex("caller_groups_group_idx").on("caller_groups").columns(["group_name"]).execute();
  // Budget reconciliation and the dashboard group spend by caller over a range of days.
  await db.schema.createIndex("ledger_day_caller_idx").on("ledger").columns(["day", "caller_id"]).execute();
}
