import type { Kysely } from "kysely";

/**
 * The knowledge layer's service catalog (src/knowledge): Backstage entities, the relations
 * derived from them (both directions stored, so every hop is one indexed lookup), the
 * descriptor files last read cleanly, and the state of each catalog source. Refs are stored lowercased: Backstage compares them
 * case-insensitively.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("knowledge_entities")
    .addColumn("ref", "text", (col) => col.primaryKey())
    .addColumn("kind", "text", (col) => col.notNull())
    .addColumn("namespace", "text", (col) => col.notNull())
    .addColumn("name", "text", (col) => col.notNull())
    .addColumn("title", "text")
    .addColumn("description", "text")
    .addColumn("spec_type", "text")
    .addColumn("lifecycle", "text")
    .addColumn("owner_ref", "text")
    .addColumn("system_ref", "text")
    .addColumn("tags", "text")
    .addColumn("source_id", "text", (col) => col.notNull())
    .addColumn("location", "text", (col) => col.notNull())
    .addColumn("hash", "text", (col) => col.notNull())
    .addColumn("entity_json", "text", (col) => col.notNull())
    .addColumn("search_text", "text", (col) => col.notNull())
    .addColumn("updated_at", "bigint", (col) => col.notNull())
    .execute();
  await db.schema.createIndex("knowledge_entities_name_idx").on("knowledge_entities").columns(["name"]).execute();
  await db.schema.createIndex("knowledge_entities_kind_idx").on("knowledge_entities").columns(["kind", "namespace"]).execute();
  await db.schema.createIndex("knowledge_entities_source_idx").on("knowledge_entities").columns(["source_id"]).execute();
  await db.schema.createIndex("knowledge_entities_owner_idx").on("knowledge_entities").columns(["owner_ref"]).execute();

  await db.schema
    .createTable("knowledge_relations")
    .addColumn("source_ref", "text", (col) => col.notNull())
    .addColumn("type", "text", (col) => col.notNull())
    .addColumn("target_ref", "text", (col) => col.notNull())
    // The entity whose descriptor produced the relation: re-ingesting it replaces exactly these.
    .addColumn("origin_ref", "text", (col) => col.notNull())
    .addPrimaryKeyConstraint("knowledge_relations_pk", ["source_ref", "type", "target_ref", "origin_ref"])
    .execute();
  await db.schema.createIndex("knowledge_relations_origin_idx").on("knowledge_relations").columns(["origin_ref"]).execute();

  // Descriptor files that were read cleanly, by text hash: an unchanged file is not even parsed again.
  await db.schema
    .createTable("knowledge_files")
    .addColumn("source_id", "text", (col) => col.notNull())
    .addColumn("location", "text", (col) => col.notNull())
    .addColumn("hash", "text", (col) => col.notNull())
    .addPrimaryKeyConstraint("knowledge_files_pk", ["source_id", "location"])
    .execute();

  await db.schema
    .createTable("knowledge_sources")
    .addColumn("id", "text", (col) => col.primaryKey())
    .addColumn("target", "text", (col) => col.notNull())
    .addColumn("status", "text", (col) => col.notNull())
    .addColumn("error", "text")
    .addColumn("entity_count", "integer", (col) => col.notNull())
    .addColumn("last_attempt_at", "bigint", (col) => col.notNull())
    .addColumn("last_success_at", "bigint")
    .execute();
}
