import type { Kysely } from "kysely";

/** MCP portal: the audit log of tool calls and per-user upstream OAuth tokens (encrypted). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("mcp_audit")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("ts", "bigint", (col) => col.notNull())
    .addColumn("caller_id", "text", (col) => col.notNull())
    .addColumn("team", "text")
    .addColumn("session_id", "text")
    .addColumn("server_id", "text", (col) => col.notNull())
    .addColumn("tool", "text", (col) => col.notNull())
    .addColumn("via", "text", (col) => col.notNull())
    .addColumn("outcome", "text", (col) => col.notNull())
    .addColumn("duration_ms", "double precision", (col) => col.notNull())
    .addColumn("error", "text")
    .addColumn("arguments_json", "text")
    .addColumn("result_json", "text")
    .execute();
  await db.schema.createIndex("mcp_audit_ts_idx").on("mcp_audit").columns(["ts"]).execute();
  await db.schema.createIndex("mcp_audit_caller_idx").on("mcp_audit").columns(["caller_id", "ts"]).execute();
  await db.schema.createIndex("mcp_audit_server_idx").on("mcp_audit").columns(["server_id", "tool", "ts"]).execute();

  await db.schema
    .createTable("mcp_oauth_tokens")
    .addColumn("server_id", "text", (col) => col.notNull())
    .addColumn("caller_id", "text", (col) => col.notNull())
    // AES-GCM ciphertext (base64url, iv prefixed) of {access_token, refresh_token, expires_at}.
    .addColumn("ciphertext", "text", (col) => col.notNull())
    .addColumn("expires_at", "bigint")
    .addColumn("updated_at", "bigint", (col) => col.notNull())
    .addPrimaryKeyConstraint("mcp_oauth_tokens_pk", ["server_id", "caller_id"])
    .execute();
}
