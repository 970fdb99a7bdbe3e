import type { Kysely } from "kysely";
import type { EntityRecord } from "./rows.ts";
import type { KnowledgeSourcesTable, KnowledgeTables } from "./tables.ts";

export interface CatalogStoreOptions {
  /**
   * Wrap each write batch in a transaction (SQLite, PostgreSQL). D1 has no interactive
   * transactions: there writes run one by one, ordered so an interrupted write is redone by
   * the next refresh (relations first, the entity row with its hash last).
   */
  transactions?: boolean;
  /** Bound parameters per statement; default 100, D1's limit, so one code path fits every store. */
  maxParams?: number;
}

const ENTITY_COLUMNS = 17;
const RELATION_COLUMNS = 4;
/** Entities per transaction: long enough to amortise the commit, short enough not to hold SQLite's write lock for long. */
const ENTITIES_PER_TRANSACTION = 250;

/** A descriptor file as last read cleanly: its text hash, and the source's validator for it. */
export interface CleanFile {
  hash: string;
  version: string | null;
}

/** Stored state of a source's entities, for the refresh's diff. */
export interface StoredEntity {
  ref: string;
  hash: string;
  location: string;
  sourceId: string;
}

/** The catalog's writes. Reads for tools live in queries.ts. */
export class CatalogStore {
  private readonly transactions: boolean;
  private readonly maxParams: number;

  constructor(
    private readonly db: Kysely<KnowledgeTables>,
    options: CatalogStoreOptions = {},
  ) {
    this.transactions = options.transactions ?? true;
    this.maxParams = options.maxParams ?? 100;
  }

  async storedBySource(sourceId: string): Promise<Map<string, StoredEntity>> {
    const rows = await this.db.selectFrom("knowledge_entities").select(["ref", "hash", "location", "source_id"]).where("source_id", "=", sourceId).execute();
    return new Map(rows.map((row) => [row.ref, { ref: row.ref, hash: row.hash, location: row.location, sourceId: row.source_id }]));
  }

  /** Which source holds each of these refs now (refs held by none are absent). */
  async holders(refs: readonly string[]): Promise<Map<string, string>> {
    const holders = new Map<string, string>();
    for (const chunk of chunks(refs, this.maxParams)) {
      const rows = await this.db.selectFrom("knowledge_entities").select(["ref", "source_id"]).where("ref", "in", chunk).execute();
      for (const row of rows) holders.set(row.ref, row.source_id);
    }
    return holders;
  }

  /** Text hashes (and the source's validators) of the files this source last read cleanly, by location. */
  async cleanFiles(sourceId: string): Promise<Map<string, CleanFile>> {
    const rows = await this.db.selectFrom("knowledge_files").select(["location", "hash", "version"]).where("source_id", "=", sourceId).execute();
    return new Map(rows.map((row) => [row.location, { hash: row.hash, version: row.version }]));
  }

  /**
   * Writes new and changed entities (replacing the relations each declared), removes the
   * deleted ones, then records which files were clean. The file records come last: after an
   * interrupted write the old hashes no longer match, so the next refresh parses those files again.
   */
  async apply(sourceId: string, upserts: readonly EntityRecord[], deletes: readonly string[], files: { clean: ReadonlyMap<string, CleanFile>; dropped: readonly string[] }): Promise<void> {
    for (const batch of chunks(upserts, ENTITIES_PER_TRANSACTION)) await this.inTransaction((db) => this.writeBatch(db, batch));
    for (const batch of chunks(deletes, ENTITIES_PER_TRANSACTION)) await this.inTransaction((db) => this.deleteBatch(db, batch));
    const clean = [...files.clean].map(([location, file]) => ({ source_id: sourceId, location, hash: file.hash, version: file.version }));
    for (const batch of chunks(clean, ENTITIES_PER_TRANSACTION)) {
      await this.inTransaction(async (db) => {
        for (const chunk of chunks(batch, Math.floor(this.maxParams / 4))) {
          await db
            .insertInto("knowledge_files")
            .values(chunk)
            .onConflict((oc) => oc.columns(["source_id", "location"]).doUpdateSet((eb) => ({ hash: eb.ref("excluded.hash"), version: eb.ref("excluded.version") })))
            .execute();
        }
      });
    }
    for (const chunk of chunks(files.dropped, this.maxParams - 1)) await this.db.deleteFrom("knowledge_files").where("source_id", "=", sourceId).where("location", "in", chunk).execute();
  }

  async recordSource(row: KnowledgeSourcesTable): Promise<void> {
    await this.db
      .insertInto("knowledge_sources")
      .values(row)
      .onConflict((oc) =>
        oc.column("id").doUpdateSet({
          target: row.target,
          status: row.status,
          error: row.error,
          entity_count: row.entity_count,
          last_attempt_at: row.last_attempt_at,
          // A failed attempt keeps the time of the last success.
          ...(row.last_success_at !== null ? { last_success_at: row.last_success_at } : {}),
        }),
      )
      .execute();
  }

  /**
   * Removes a source's entities (with the relations they declared), its clean-file records
   * and its status row: the source is no longer configured, and knowledge nobody refreshes
   * any more goes stale. Entities first, the status row last, so an interrupted removal is
   * still listed and is redone by the next refresh.
   */
  async removeSource(sourceId: string): Promise<number> {
    const refs = [...(await this.storedBySource(sourceId)).keys()];
    for (const batch of chunks(refs, ENTITIES_PER_TRANSACTION)) await this.inTransaction((db) => this.deleteBatch(db, batch));
    await this.db.deleteFrom("knowledge_files").where("source_id", "=", sourceId).execute();
    await this.db.deleteFrom("knowledge_sources").where("id", "=", sourceId).execute();
    return refs.length;
  }

  /** Ids of every source that holds entities or has a status row. */
  async knownSourceIds(): Promise<string[]> {
    const fromEntities = await this.db.selectFrom("knowledge_entities").select("source_id").distinct().execute();
    const fromStatus = await this.db.selectFrom("knowledge_sources").select("id").execute();
    return [...new Set([...fromEntities.map((row) => row.source_id), ...fromStatus.map((row) => row.id)])].sort();
  }

  async sources(): Promise<KnowledgeSourcesTable[]> {
    return this.db.selectFrom("knowledge_sources").selectAll().orderBy("id").execute();
  }

  private async writeBatch(db: Kysely<KnowledgeTables>, batch: readonly EntityRecord[]): Promise<void> {
    const refs = batch.map((record) => record.row.ref);
    for (const chunk of chunks(refs, this.maxParams)) await db.deleteFrom("knowledge_relations").where("origin_ref", "in", chunk).execute();
    const relations = batch.flatMap((record) => record.relations.map((relation) => ({ source_ref: relation.source, type: relation.type, target_ref: relation.target, origin_ref: record.row.ref })));
    for (const chunk of chunks(relations, Math.floor(this.maxParams / RELATION_COLUMNS))) {
      await db
        .insertInto("knowledge_relations")
        .values(chunk)
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
    for (const chunk of chunks(batch, Math.floor(this.maxParams / ENTITY_COLUMNS))) {
      await db
        .insertInto("knowledge_entities")
        .values(chunk.map((record) => record.row))
        .onConflict((oc) =>
          oc.column("ref").doUpdateSet((eb) => ({
            kind: eb.ref("excluded.kind"),
            namespace: eb.ref("excluded.namespace"),
            name: eb.ref("excluded.name"),
            title: eb.ref("excluded.title"),
            description: eb.ref("excluded.description"),
            spec_type: eb.ref("excluded.spec_type"),
            lifecycle: eb.ref("excluded.lifecycle"),
            owner_ref: eb.ref("excluded.owner_ref"),
            system_ref: eb.ref("excluded.system_ref"),
            tags: eb.ref("excluded.tags"),
            source_id: eb.ref("excluded.source_id"),
            location: eb.ref("excluded.location"),
            hash: eb.ref("excluded.hash"),
            entity_json: eb.ref("excluded.entity_json"),
            search_text: eb.ref("excluded.search_text"),
            updated_at: eb.ref("excluded.updated_at"),
          })),
        )
        .execute();
    }
  }

  private async deleteBatch(db: Kysely<KnowledgeTables>, refs: readonly string[]): Promise<void> {
    for (const chunk of chunks(refs, this.maxParams)) {
      await db.deleteFrom("knowledge_relations").where("origin_ref", "in", chunk).execute();
      await db.deleteFrom("knowledge_entities").where("ref", "in", chunk).execute();
    }
  }

  private async inTransaction(work: (db: Kysely<KnowledgeTables>) => Promise<void>): Promise<void> {
    if (!this.transactions) return work(this.db);
    await this.db.transaction().execute(work);
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
