import type { Kysely } from "kysely";

/**
 * The provider a request came in on, when another one served it (cross-provider fallback,
 * docs/gateway.md): the row's `provider` is the one that served and priced it. NULL when the
 * provider that served is the one asked, and on rows written before this migration.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("ledger").addColumn("requested_provider", "text").execute();
}
