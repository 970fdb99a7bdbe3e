import type { Kysely } from "kysely";

/**
 * Which coding client sent each request and in which of its sessions (src/ledger/client.ts):
 * `client` (opencode, claude-code, codex, gemini-cli, sdk, other), its version and the
 * client's own session id. Rows written before this migration have NULL in all three: the
 * gateway did not record them then, which the reports show as "(not recorded)", never as a
 * client. The index serves the per-client reports and the request log's client filter over a
 * day range.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("ledger").addColumn("client", "text").execute();
  await db.schema.alterTable("ledger").addColumn("client_version", "text").execute();
  await db.schema.alterTable("ledger").addColumn("session_id", "text").execute();
  await db.schema.createIndex("ledger_day_client_idx").on("ledger").columns(["day", "client"]).execute();
}
