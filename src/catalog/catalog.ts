import { buildCanonicalIndex, canonicalModelId, stripModelPrefix } from "./match.ts";
import { parseCatalog, type CatalogData, type CatalogModel, type CatalogProvider } from "./schema.ts";

export type RefreshResult = { ok: true; providers: number; models: number } | { ok: false; reason: string };

/**
 * A refreshed catalog smaller than this share of the current one is treated as a broken
 * upload (models.dev only ever grows by a few models) and not swapped in.
 */
export const MIN_REFRESH_SHARE = 0.5;

/**
 * models.dev's provider/model catalog: prices, limits and capabilities. Starts from a
 * bundled snapshot and is refreshed (hourly, by the runtime adapter) with `refresh`, which
 * fails soft: the previous data stays on any error.
 */
export class Catalog {
  private data: CatalogData;
  private readonly canonical = new Map<string, Map<string, string>>();
  private revision = 0;
  private readonly listeners = new Set<() => void>();

  constructor(source: unknown) {
    this.data = parseCatalog(source);
  }

  /** Increases on every successful refresh: caches keyed on it know when to drop entries. */
  get version(): number {
    return this.revision;
  }

  get modelCount(): number {
    return this.data.modelCount;
  }

  providerIds(): string[] {
    return [...this.data.providers.keys()];
  }

  provider(catalogProviderId: string): CatalogProvider | undefined {
    return this.data.providers.get(catalogProviderId);
  }

  /** Exact id first, then `models/`-prefixed and dated ids matched to their catalog form. */
  findModel(catalogProviderId: string, modelId: string): CatalogModel | undefined {
    const provider = this.data.providers.get(catalogProviderId);
    if (!provider) return undefined;
    const exact = provider.models.get(modelId) ?? provider.models.get(stripModelPrefix(modelId));
    if (exact) return exact;
    const id = this.canonicalIndex(catalogProviderId, provider).get(canonicalModelId(modelId));
    return id === undefined ? undefined : provider.models.get(id);
  }

  /** All models of one provider, deprecated ones last, for model lists and discovery. */
  listModels(catalogProviderId: string): CatalogModel[] {
    const provider = this.data.providers.get(catalogProviderId);
    if (!provider) return [];
    const models = [...provider.models.values()];
    return models.sort((a, b) => Number(a.status === "deprecated") - Number(b.status === "deprecated") || a.id.localeCompare(b.id));
  }

  /** Called after each successful refresh (price caches subscribe). Returns an unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Swaps in new data (already fetched); same soft checks as `refresh`. */
  load(source: unknown): RefreshResult {
    const next = parseCatalog(source);
    const floor = Math.max(1, Math.floor(this.data.modelCount * MIN_REFRESH_SHARE));
    if (next.modelCount < floor) {
      return { ok: false, reason: `catalog has ${next.modelCount} models, fewer than the ${floor} required (current: ${this.data.modelCount}); keeping the current catalog` };
    }
    this.data = next;
    this.canonical.clear();
    this.revision++;
    for (const listener of this.listeners) listener();
    return { ok: true, providers: next.providers.size, models: next.modelCount };
  }

  /**
   * Fetches models.dev's api.json. Never throws: network errors, timeouts, non-2xx answers,
   * malformed JSON and suspiciously small catalogs all leave the current data in place.
   */
  async refresh(fetchFn: typeof fetch, url: string, timeoutMs: number): Promise<RefreshResult> {
    let body: unknown;
    try {
      const response = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: "application/json" } });
      if (!response.ok) {
        await response.body?.cancel();
        return { ok: false, reason: `catalog fetch answered HTTP ${response.status}` };
      }
      const raw = await response.text();
      try {
        body = JSON.parse(raw) as unknown;
      } catch (error) {
        return { ok: false, reason: `catalog is not valid JSON (${error instanceof Error ? error.message : "parse error"})` };
      }
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
      return { ok: false, reason: timedOut ? `catalog fetch timed out after ${timeoutMs} ms` : `catalog fetch failed (${error instanceof Error ? error.message : "unknown error"})` };
    }
    return this.load(body);
  }

  private canonicalIndex(catalogProviderId: string, provider: CatalogProvider): Map<string, string> {
    let index = this.canonical.get(catalogProviderId);
    if (!index) {
      index = buildCanonicalIndex(provider.models.keys());
      this.canonical.set(catalogProviderId, index);
    }
    return index;
  }
}
