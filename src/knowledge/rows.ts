import type { Entity } from "./entity.ts";
import { refKey } from "./entity.ts";
import type { Relation } from "./relations.ts";
import type { KnowledgeEntitiesTable } from "./tables.ts";

/** A validated entity ready to store: its row and the relations it declares. */
export interface EntityRecord {
  row: KnowledgeEntitiesTable;
  relations: Relation[];
}

export function entityRow(entity: Entity, relations: readonly Relation[], sourceId: string, location: string, hash: string, now: number): KnowledgeEntitiesTable {
  const spec = (entity.spec ?? {}) as Record<string, unknown>;
  const self = refKey(entity);
  const firstTarget = (type: string): string | null => relations.find((r) => r.source === self && r.type === type)?.target ?? null;
  const tags = entity.metadata.tags ?? [];
  const text = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null);
  const profile = (spec["profile"] ?? {}) as Record<string, unknown>;
  const title = text(entity.metadata.title) ?? text(profile["displayName"]);
  const row: KnowledgeEntitiesTable = {
    ref: self,
    kind: entity.kind.toLocaleLowerCase("en-US"),
    namespace: (entity.metadata.namespace ?? "default").toLocaleLowerCase("en-US"),
    name: entity.metadata.name.toLocaleLowerCase("en-US"),
    title,
    description: text(entity.metadata.description),
    spec_type: text(spec["type"]),
    lifecycle: text(spec["lifecycle"]),
    owner_ref: firstTarget("ownedBy"),
    system_ref: entity.kind.toLocaleLowerCase("en-US") === "system" ? null : firstTarget("partOf"),
    tags: tags.length > 0 ? tags.join(",") : null,
    source_id: sourceId,
    location,
    hash,
    entity_json: JSON.stringify(entity),
    search_text: "",
    updated_at: now,
  };
  row.search_text = [row.ref, title, row.description, row.spec_type, row.owner_ref, row.system_ref, tags.join(" "), text(profile["email"])]
    .filter((part): part is string => typeof part === "string" && part !== "")
    .join(" ")
    .toLocaleLowerCase("en-US");
  return row;
}

/** sha256 of the entity and where it was read, keys sorted: equal content, equal hash, whatever the YAML key order. */
export async function contentHash(entity: Entity, location: string): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalJson({ entity, location }));
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** sha256 of a descriptor file's text. */
export async function textHash(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
