import type { Catalog } from "../../catalog/index.ts";
import type { Logger } from "../../core/logger.ts";
import type { Settings } from "../../core/settings.ts";

/** Refreshes the models.dev catalog now and every interval; failures keep the last good data. */
export function startCatalogRefresh(catalog: Catalog, settings: Settings, logger: Logger): () => void {
  const run = async () => {
    const result = await catalog.refresh(fetch, settings.catalogUrl, 15_000);
    if (result.ok) logger.info({ providers: result.providers, models: result.models }, "catalog refreshed");
    // Name the URL: offline or behind a proxy, the fix is GATEHOUSE_CATALOG_URL or GATEHOUSE_CATALOG_REFRESH_MS=0.
    else logger.warn({ url: settings.catalogUrl, reason: result.reason }, `catalog refresh from ${settings.catalogUrl} failed; keeping the previous catalog (set GATEHOUSE_CATALOG_URL to a reachable copy, or GATEHOUSE_CATALOG_REFRESH_MS=0 to stop refreshing)`);
  };
  void run();
  const timer = setInterval(() => void run(), settings.catalogRefreshMs);
  timer.unref();
  return () => clearInterval(timer);
}
