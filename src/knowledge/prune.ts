import type { CatalogStore } from "./store.ts";

/** Sources `gatehouse knowledge refresh <paths…>` makes on the fly (`local:<absolute path>`): not from the config, so never pruned by it. */
export const AD_HOC_SOURCE_PREFIX = "local:";

export interface RemovedSourceReport {
  sourceId: string;
  /** Entities deleted with it. */
  removed: number;
}

/**
 * Deletes what sources that are no longer configured brought in. A source removed from the
 * config is refreshed by nobody any more, so its entities would only grow stale (stale
 * knowledge is worse than none); a source that is configured but failing is not touched here:
 * its refresh keeps its entities. Ad-hoc sources (`local:…`, from the command line) belong to
 * no config and are left alone. `configured` must be the whole configured list, never a subset
 * being refreshed (`--source x` must not delete y).
 */
export async function pruneRemovedSources(store: CatalogStore, configured: readonly string[]): Promise<RemovedSourceReport[]> {
  const keep = new Set(configured);
  const reports: RemovedSourceReport[] = [];
  for (const id of await store.knownSourceIds()) {
    if (keep.has(id) || id.startsWith(AD_HOC_SOURCE_PREFIX)) continue;
    reports.push({ sourceId: id, removed: await store.removeSource(id) });
  }
  return reports;
}
