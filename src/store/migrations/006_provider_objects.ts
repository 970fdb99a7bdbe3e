import type { Kysely } from "kysely";

/**
 * Owners of provider-side objects (files, batches) created through the gateway: the org key
 * owns them all at the provider, so the gateway keeps who created which and lets only that
 * caller (or an admin group) see them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("provider_objects")
    .addColumn("provider", "text", (col) => col.notNull())
    .addColumn("kind", "text", (col) => col.notNull())
    .addColumn("object_id", "text", (col) => col.notNull())
    .addColumn("owner_id", "text", (col) => col.notNull())
    .addColumn("created_at", "bigint", (col) => col.notNull())
    .addPrimaryKeyConstraint("provider_objects_pk", ["provider", "kind", "object_id"])
    .execute();
  await db.schema.createIndex("provider_objects_owner_idx").on("provider_objects").columns(["provider", "kind", "owner_id"]).execute();
}
