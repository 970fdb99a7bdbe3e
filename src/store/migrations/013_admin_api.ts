import type { Kysely } from "kysely";

/**
 * The admin API (docs/admin.md): every admin action, made through `/admin/v1` or the CLI, is
 * one row of `admin_audit`, written before the action runs (outcome `started`) and settled
 * after it (`ok`, `failed`, `denied`), so no action happens without a row. Rows never hold a
 * secret: a created key appears by id and hint only.
 *
 * Revocation rules: `identity_revocations` (009) also takes `kind = 'group'` (every person's
 * token carrying that group, issued up to the revocation); its index on (kind, value) serves it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("admin_audit")
    .addColumn("id", "text", (col) => col.primaryKey())
    // Epoch ms when the action was asked for.
    .addColumn("ts", "bigint", (col) => col.notNull())
    // person | service_account | cli
    .addColumn("actor_kind", "text", (col) => col.notNull())
    // The anonymous caller id, the service account's id, or the OS user of the CLI.
    .addColumn("actor_id", "text", (col) => col.notNull())
    // What an admin reads: the person's email, the account's name, cli:<user>.
    .addColumn("actor_name", "text", (col) => col.notNull())
    // e.g. service_account.create, key.revoke, token.revoke_email
    .addColumn("action", "text", (col) => col.notNull())
    // e.g. service-account:ci-reviewer, email:alice@example.com; '' when there is none.
    .addColumn("target", "text", (col) => col.notNull())
    // started | ok | failed | denied
    .addColumn("outcome", "text", (col) => col.notNull())
    // JSON of non-secret facts (key id and hint, reason, counts, the error's message).
    .addColumn("detail", "text", (col) => col.notNull())
    // api | cli
    .addColumn("via", "text", (col) => col.notNull())
    .addColumn("ip", "text")
    .addColumn("user_agent", "text")
    .addColumn("request_id", "text")
    .execute();
  await db.schema.createIndex("admin_audit_ts_idx").on("admin_audit").column("ts").execute();
  await db.schema.createIndex("admin_audit_actor_idx").on("admin_audit").columns(["actor_id", "ts"]).execute();
}
