import type { Kysely } from "kysely";

/**
 * Remote catalog sources (GitHub, GitLab) remember a validator per descriptor file (an ETag,
 * a blob id, a push time), so an unchanged repository costs a conditional request or none,
 * and no download or parse.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("knowledge_files").addColumn("version", "text").execute();
}
