import type { Kysely } from "kysely";

/**
 * Running Gatehouse for an organisation (docs/admin.md).
 *
 * Service accounts (CI reviewers, bots, batch jobs): a named, non-human caller owned by a
 * group, with its own scopes and limits, and several keys at once so a key can be rotated
 * without downtime. Only a SHA-256 hash of each key is stored.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("service_accounts")
    // Also the caller id the ledger and budgets see.
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("name", "text", (col) => col.notNull().unique())
    .addColumn("owner_group", "text", (col) => col.notNull())
    // JSON: { routes, models, mcpServers, metrics } (see identity/service-accounts/types.ts).
    .addColumn("scopes", "text", (col) => col.notNull())
    // JSON: { dailyUsd, monthlyUsd, requestsPerMinute, tokensPerMinute }, each optional.
    .addColumn("limits", "text", (col) => col.notNull())
    .addColumn("created_at", "bigint", (col) => col.notNull())
    .addColumn("created_by", "text", (col) => col.notNull())
    .addColumn("expires_at", "bigint")
    .addColumn("disabled_at", "bigint")
    .execute();

  await db.schema
    .createTable("service_account_keys")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("account_id", "text", (col) => col.notNull())
    .addColumn("key_hash", "text", (col) => col.notNull().unique())
    // The first characters of the key, to tell keys apart in a list (never enough to use one).
    .addColumn("hint", "text", (col) => col.notNull())
    .addColumn("created_at", "bigint", (col) => col.notNull())
    .addColumn("expires_at", "bigint")
    .addColumn("revoked_at", "bigint")
    .addColumn("revoked_reason", "text")
    .execute();
  await db.schema.createIndex("service_account_keys_account_idx").on("service_account_keys").columns(["account_id", "created_at"]).execute();

  // Revocations of tokens the gateway did not issue (jwt mode: the IdP's or the proxy's), by
  // subject, email or token id: every token of that subject or email issued at or before
  // revoked_at is refused, on every instance (each re-reads the list from the store).
  await db.schema
    .createTable("identity_revocations")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("kind", "text", (col) => col.notNull())
    .addColumn("value", "text", (col) => col.notNull())
    .addColumn("revoked_at", "bigint", (col) => col.notNull())
    .addColumn("reason", "text", (col) => col.notNull())
    .addColumn("actor", "text", (col) => col.notNull())
    .execute();
  await db.schema.createIndex("identity_revocations_kind_value_idx").on("identity_revocations").columns(["kind", "value"]).execute();
}
