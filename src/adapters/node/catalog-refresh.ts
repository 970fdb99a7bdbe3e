import type { Catalog } from "../../catalog/index.ts";
import type { Logger } from "../../core/logger.ts";
import type { Settings } from "../../core/settings.ts";

/** Refreshes the models.dev catalog now and every interval; failures keep the last good data. */
export function startCatalogRefresh(catalog: Catalog, settings: Settings, logger: Logger): () => void {
  const run = async () => {
    const result = await catalog.refresh(fetch, settings.catalogUrl, 15_000);
    if (result.ok) logger.info({ providers: result.providers, models: result.models }, "catalog refreshed");
    else logger.warn({ reason: result.reason }, "catalog refresh failed; keeping the previous catalog");
  };
  void run();
  const timer = setInterval(() => void run(), settings.catalogRefreshMs);
  timer.unref();
  return () => clearInterval(timer);
}
