import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  // One random UUID per verified email, created once: upstreams and the ledger only see the id.
  await db.schema
    .createTable("identities")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("email", "text", (col) => col.notNull().unique())
    .addColumn("created_at", "bigint", (col) => col.notNull())
    .execute();

  // Every token Gatehouse signs (login or `token issue`), so it can be listed and revoked by jti.
  await db.schema
    .createTable("issued_tokens")
    .addColumn("jti", "text", (col) => col.primaryKey())
    .addColumn("caller_id", "text", (col) => col.notNull())
    .addColumn("source", "text", (col) => col.notNull())
    .addColumn("issued_at", "bigint", (col) => col.notNull())
    .addColumn("expires_at", "bigint", (col) => col.notNull())
    .addColumn("revoked_at", "bigint")
    .addColumn("revoked_reason", "text")
    .execute();
  await db.schema.createIndex("issued_tokens_caller_idx").on("issued_tokens").columns(["caller_id", "issued_at"]).execute();
  await db.schema.createIndex("issued_tokens_revoked_idx").on("issued_tokens").columns(["revoked_at", "expires_at"]).execute();

  // Pending `gatehouse login` requests (device-code style): shared by every gateway instance.
  await db.schema
    .createTable("login_requests")
    .addColumn("device_code_hash", "text", (col) => col.primaryKey())
    .addColumn("user_code", "text", (col) => col.notNull().unique())
    .addColumn("state", "text", (col) => col.unique())
    .addColumn("code_verifier", "text")
    .addColumn("nonce", "text")
    .addColumn("status", "text", (col) => col.notNull())
    .addColumn("email", "text")
    .addColumn("groups", "text")
    .addColumn("created_at", "bigint", (col) => col.notNull())
    .addColumn("expires_at", "bigint", (col) => col.notNull())
    .addColumn("last_poll_at", "bigint")
    .execute();

  // Who resolved which anonymous id to an email, when and why.
  await db.schema
    .createTable("identity_audit")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("ts", "bigint", (col) => col.notNull())
    .addColumn("actor", "text", (col) => col.notNull())
    .addColumn("action", "text", (col) => col.notNull())
    .addColumn("caller_id", "text", (col) => col.notNull())
    .addColumn("reason", "text", (col) => col.notNull())
    .execute();
}
