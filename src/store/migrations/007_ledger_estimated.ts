import type { Kysely } from "kysely";

/**
 * Marks ledger rows whose tokens the gateway counted itself because the provider's usage
 * never arrived (an aborted or broken stream). Existing rows were all read from the
 * provider, so the default is 0.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("ledger")
    .addColumn("estimated", "integer", (col) => col.notNull().defaultTo(0))
    .execute();
}
