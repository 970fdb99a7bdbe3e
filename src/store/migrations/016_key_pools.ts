import type { Kysely } from "kysely";

/**
 * Which key of a provider's key pool served each request (docs/providers/key-pools.md): the
 * key's configured name, never its value. NULL on rows of providers without a pool and on rows
 * written before this migration.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("ledger").addColumn("key_name", "text").execute();
}
