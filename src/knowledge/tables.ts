import type { Kysely } from "kysely";

/**
 * The catalog tables (migration 008_knowledge) as Kysely sees them. They live here rather
 * than in store/schema.ts so the knowledge layer owns its shape.
 */
export interface KnowledgeTables {
  knowledge_entities: KnowledgeEntitiesTable;
  knowledge_relations: KnowledgeRelationsTable;
  knowledge_files: KnowledgeFilesTable;
  knowledge_sources: KnowledgeSourcesTable;
}

/** A descriptor file whose every document was stored: same text next time, nothing to parse. */
export interface KnowledgeFilesTable {
  source_id: string;
  location: string;
  /** sha256 of the file's text. */
  hash: string;
  /** The source's validator for the file (ETag, blob id; migration 010), null for local files. */
  version: string | null;
}

export interface KnowledgeEntitiesTable {
  /** Lowercased `kind:namespace/name`. */
  ref: string;
  kind: string;
  namespace: string;
  name: string;
  title: string | null;
  description: string | null;
  spec_type: string | null;
  lifecycle: string | null;
  owner_ref: string | null;
  system_ref: string | null;
  /** Comma-joined metadata.tags. */
  tags: string | null;
  source_id: string;
  /** Where the descriptor was read (`file:/abs/path/catalog-info.yaml`). */
  location: string;
  /** sha256 of the validated entity: a refresh rewrites only entities whose hash changed. */
  hash: string;
  entity_json: string;
  /** Lowercased name, title, description, tags, kind, type, owner: what free-text search matches. */
  search_text: string;
  updated_at: number;
}

export interface KnowledgeRelationsTable {
  source_ref: string;
  type: string;
  target_ref: string;
  origin_ref: string;
}

export interface KnowledgeSourcesTable {
  id: string;
  target: string;
  status: "ok" | "error";
  error: string | null;
  entity_count: number;
  last_attempt_at: number;
  last_success_at: number | null;
}

/**
 * The shared store handle seen with only the catalog tables. The same connection: the
 * migration list (store/migrations/008_knowledge.ts) creates these tables on every store,
 * so the narrower view is sound; Kysely's types cannot express "a superset of" here.
 */
export function knowledgeDb<DB>(db: Kysely<DB>): Kysely<KnowledgeTables> {
  return db as unknown as Kysely<KnowledgeTables>;
}
