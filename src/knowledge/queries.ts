import { parseEntityRef } from "@backstage/catalog-model";
import type { Kysely } from "kysely";
import type { KnowledgeEntitiesTable, KnowledgeTables } from "./tables.ts";

/** What a tool answers about one entity: short, null fields left out, for a model's context. */
export interface EntitySummary {
  ref: string;
  title?: string;
  type?: string;
  lifecycle?: string;
  owner?: string;
  system?: string;
  description?: string;
}

export type Resolution = { found: KnowledgeEntitiesTable } | { ambiguous: EntitySummary[] } | { missing: string };

export interface EntityFilter {
  kind?: string;
  type?: string;
  owner?: string;
  system?: string;
  lifecycle?: string;
  namespace?: string;
  tag?: string;
  limit: number;
  offset: number;
}

export interface GraphEdge {
  from: string;
  relation: string;
  to: string;
  depth: number;
}

/** The edges "what X depends on" and "what depends on X" follow; APIs are hops in between. */
export const DEPENDENCY_RELATIONS = ["dependsOn", "consumesApi", "apiProvidedBy"] as const;
export const DEPENDENT_RELATIONS = ["dependencyOf", "providesApi", "apiConsumedBy"] as const;

const SUMMARY_COLUMNS = ["ref", "title", "spec_type", "lifecycle", "owner_ref", "system_ref", "description"] as const;
const DESCRIPTION_CHARS = 160;
const MAX_GRAPH_NODES = 500;

/** Read side of the catalog: every tool query is an indexed lookup or a bounded walk. */
export class CatalogQueries {
  constructor(private readonly db: Kysely<KnowledgeTables>) {}

  /** A full ref (`component:default/x`), `namespace/name`, or a bare name; kind given as a fallback for bare names. */
  async resolve(input: string, defaultKind?: string): Promise<Resolution> {
    const text = input.trim();
    if (text === "") return { missing: input };
    if (text.includes(":")) {
      let key: string;
      try {
        const ref = parseEntityRef(text, { defaultNamespace: "default" });
        key = `${ref.kind}:${ref.namespace}/${ref.name}`.toLocaleLowerCase("en-US");
      } catch {
        // Not parseable as a ref: nothing can have that key.
        return { missing: input };
      }
      const row = await this.db.selectFrom("knowledge_entities").selectAll().where("ref", "=", key).executeTakeFirst();
      return row ? { found: row } : { missing: input };
    }
    const [namespace, name] = text.includes("/") ? (text.split("/", 2) as [string, string]) : [undefined, text];
    let query = this.db.selectFrom("knowledge_entities").selectAll().where("name", "=", name.toLocaleLowerCase("en-US"));
    if (namespace !== undefined) query = query.where("namespace", "=", namespace.toLocaleLowerCase("en-US"));
    const rows = await query.limit(20).execute();
    const preferred = defaultKind ? rows.filter((row) => row.kind === defaultKind.toLocaleLowerCase("en-US")) : [];
    const pick = preferred.length > 0 ? preferred : rows;
    if (pick.length === 1 && pick[0]) return { found: pick[0] };
    if (pick.length === 0) return { missing: input };
    return { ambiguous: pick.map(summarize) };
  }

  async entities(refs: readonly string[]): Promise<Map<string, EntitySummary>> {
    const out = new Map<string, EntitySummary>();
    for (let i = 0; i < refs.length; i += 100) {
      const chunk = refs.slice(i, i + 100);
      if (chunk.length === 0) continue;
      const rows = await this.db.selectFrom("knowledge_entities").select(SUMMARY_COLUMNS).where("ref", "in", chunk).execute();
      for (const row of rows) out.set(row.ref, summarize(row));
    }
    return out;
  }

  async find(filter: EntityFilter): Promise<{ total: number; items: EntitySummary[] }> {
    let query = this.db.selectFrom("knowledge_entities");
    if (filter.kind) query = query.where("kind", "=", filter.kind.toLocaleLowerCase("en-US"));
    if (filter.namespace) query = query.where("namespace", "=", filter.namespace.toLocaleLowerCase("en-US"));
    if (filter.type) query = query.where("spec_type", "=", filter.type);
    if (filter.lifecycle) query = query.where("lifecycle", "=", filter.lifecycle);
    if (filter.owner) query = query.where("owner_ref", "=", normalizeRef(filter.owner, "group"));
    if (filter.system) query = query.where("system_ref", "=", normalizeRef(filter.system, "system"));
    if (filter.tag) {
      const tag = filter.tag;
      query = query.where((eb) => eb.or([eb("tags", "=", tag), eb("tags", "like", `${tag},%`), eb("tags", "like", `%,${tag}`), eb("tags", "like", `%,${tag},%`)]));
    }
    const total = await query.select((eb) => eb.fn.countAll<number | string | bigint>().as("n")).executeTakeFirst();
    const rows = await query.select(SUMMARY_COLUMNS).orderBy("ref").limit(filter.limit).offset(filter.offset).execute();
    return { total: Number(total?.n ?? 0), items: rows.map(summarize) };
  }

  /** One hop: the targets of `ref`'s relations, by type. */
  async related(ref: string, types?: readonly string[]): Promise<{ type: string; target: string }[]> {
    let query = this.db.selectFrom("knowledge_relations").select(["type", "target_ref"]).distinct().where("source_ref", "=", ref);
    if (types && types.length > 0) query = query.where("type", "in", [...types]);
    const rows = await query.orderBy("type").orderBy("target_ref").execute();
    return rows.map((row) => ({ type: row.type, target: row.target_ref }));
  }

  /** Breadth-first walk over `relations` up to `depth` hops, at most MAX_GRAPH_NODES nodes; truncated says when the cap cut it. */
  async walk(ref: string, relations: readonly string[], depth: number): Promise<{ edges: GraphEdge[]; truncated: boolean }> {
    const visited = new Set<string>([ref]);
    const edges: GraphEdge[] = [];
    let frontier = [ref];
    let truncated = false;
    for (let level = 1; level <= depth && frontier.length > 0; level++) {
      const next: string[] = [];
      for (let i = 0; i < frontier.length; i += 100) {
        const rows = await this.db
          .selectFrom("knowledge_relations")
          .select(["source_ref", "type", "target_ref"])
          .distinct()
          .where("source_ref", "in", frontier.slice(i, i + 100))
          .where("type", "in", [...relations])
          .orderBy("source_ref")
          .orderBy("target_ref")
          .execute();
        for (const row of rows) {
          if (visited.has(row.target_ref)) continue;
          if (visited.size >= MAX_GRAPH_NODES) {
            truncated = true;
            break;
          }
          visited.add(row.target_ref);
          next.push(row.target_ref);
          edges.push({ from: row.source_ref, relation: row.type, to: row.target_ref, depth: level });
        }
      }
      frontier = next;
    }
    return { edges, truncated };
  }

  /** Free text: every word must occur in the entity's name, title, description, tags, type, owner or system; exact names first. */
  async search(text: string, kind: string | undefined, limit: number): Promise<EntitySummary[]> {
    const words = text
      .toLocaleLowerCase("en-US")
      // LIKE wildcards split words instead of matching anything.
      .split(/[\s%_\\]+/)
      .filter((word) => word !== "")
      .slice(0, 8);
    if (words.length === 0) return [];
    let query = this.db.selectFrom("knowledge_entities").select([...SUMMARY_COLUMNS, "name"]);
    for (const word of words) query = query.where("search_text", "like", `%${word}%`);
    if (kind) query = query.where("kind", "=", kind.toLocaleLowerCase("en-US"));
    // Exact-name hits first, then the rest in ref order; a bounded scan keeps the cost fixed.
    const rows = await query
      .orderBy("ref")
      .limit(Math.max(limit * 20, 200))
      .execute();
    const first = words[0] ?? "";
    const score = (row: { name: string }): number => (row.name === words.join("-") || row.name === first ? 0 : row.name.startsWith(first) ? 1 : 2);
    return rows
      .map((row) => ({ row, score: score(row) }))
      .sort((a, b) => a.score - b.score || (a.row.ref < b.row.ref ? -1 : 1))
      .slice(0, limit)
      .map(({ row }) => summarize(row));
  }
}

export function summarize(row: Pick<KnowledgeEntitiesTable, (typeof SUMMARY_COLUMNS)[number]>): EntitySummary {
  const summary: EntitySummary = { ref: row.ref };
  if (row.title) summary.title = row.title;
  if (row.spec_type) summary.type = row.spec_type;
  if (row.lifecycle) summary.lifecycle = row.lifecycle;
  if (row.owner_ref) summary.owner = row.owner_ref;
  if (row.system_ref) summary.system = row.system_ref;
  if (row.description) summary.description = row.description.length > DESCRIPTION_CHARS ? `${row.description.slice(0, DESCRIPTION_CHARS - 1)}…` : row.description;
  return summary;
}

/** `team-a` → `group:default/team-a` (with the field's default kind); full refs lowercased. */
export function normalizeRef(input: string, defaultKind: string): string {
  try {
    const ref = parseEntityRef(input.trim(), { defaultKind, defaultNamespace: "default" });
    return `${ref.kind}:${ref.namespace}/${ref.name}`.toLocaleLowerCase("en-US");
  } catch {
    // Unparseable: matches nothing, as an unknown ref would.
    return input.trim().toLocaleLowerCase("en-US");
  }
}
