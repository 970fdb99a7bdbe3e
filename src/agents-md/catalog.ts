import type { CatalogQueries } from "../knowledge/queries.ts";
import type { CatalogInfo } from "./detect.ts";

/** What the catalog says about the repo's entity; `inStore` false: only the repo's own catalog-info.yaml was there. */
export interface CatalogFacts {
  ref: string;
  inStore: boolean;
  owner?: string;
  system?: string;
  dependsOn: string[];
  dependedOnBy: string[];
}

/**
 * Owner, system and both directions of dependencies from the knowledge store, by the entity
 * ref of the repo's catalog-info.yaml. APIs are followed one hop: a component that consumes
 * an API this one provides depends on this one.
 */
export async function catalogFacts(queries: CatalogQueries, info: CatalogInfo): Promise<CatalogFacts> {
  const resolved = await queries.resolve(info.ref);
  if (!("found" in resolved)) {
    const facts: CatalogFacts = { ref: info.ref, inStore: false, dependsOn: [...info.dependsOn].sort(), dependedOnBy: [] };
    if (info.owner) facts.owner = info.owner;
    if (info.system) facts.system = info.system;
    return facts;
  }
  const row = resolved.found;
  const out = await queries.related(row.ref, ["dependsOn", "consumesApi"]);
  const incoming = await queries.related(row.ref, ["dependencyOf", "providesApi"]);
  const dependedOnBy = new Set(incoming.filter((r) => r.type === "dependencyOf").map((r) => r.target));
  for (const api of incoming.filter((r) => r.type === "providesApi")) {
    for (const consumer of await queries.related(api.target, ["apiConsumedBy"])) if (consumer.target !== row.ref) dependedOnBy.add(consumer.target);
  }
  const facts: CatalogFacts = { ref: row.ref, inStore: true, dependsOn: [...new Set(out.map((r) => r.target))].sort(), dependedOnBy: [...dependedOnBy].sort() };
  if (row.owner_ref) facts.owner = row.owner_ref;
  if (row.system_ref) facts.system = row.system_ref;
  return facts;
}
