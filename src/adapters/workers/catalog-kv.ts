import type { Catalog } from "../../catalog/index.ts";
import type { Logger } from "../../core/logger.ts";
import type { KVNamespace } from "./bindings.ts";

/** KV key of the refreshed models.dev document (written by the cron trigger). */
export const CATALOG_KV_KEY = "catalog:models-dev";
const CATALOG_STAMP_KEY = "catalog:models-dev:fetched-at";

/**
 * The hourly refresh, run by the cron trigger: one fetch of models.dev for the whole
 * deployment, stored in KV, where every isolate picks it up. A failed or suspicious
 * download keeps the previous document.
 */
export async function refreshCatalogToKv(kv: KVNamespace, catalog: Catalog, url: string, logger: Logger, now: number): Promise<boolean> {
  let text: string;
  try {
    const res = await fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(15_000) });
    if (!res.ok) {
      await res.body?.cancel();
      logger.warn({ url, status: res.status }, `catalog refresh from ${url} failed; keeping the stored catalog`);
      return false;
    }
    text = await res.text();
  } catch (err) {
    logger.warn({ url, err: err instanceof Error ? err.message : String(err) }, `catalog refresh from ${url} failed; keeping the stored catalog`);
    return false;
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (err) {
    logger.warn({ err: err instanceof Error ? err.message : String(err) }, "catalog refresh returned invalid JSON; keeping the stored catalog");
    return false;
  }
  // Validate with the same soft checks the isolates apply before storing it for all of them.
  const result = catalog.load(document);
  if (!result.ok) {
    logger.warn({ reason: result.reason }, "catalog refresh rejected; keeping the stored catalog");
    return false;
  }
  await kv.put(CATALOG_KV_KEY, text);
  await kv.put(CATALOG_STAMP_KEY, String(now));
  logger.info({ models: result.models }, "catalog refreshed into KV");
  return true;
}

/**
 * Follows the KV document from an isolate: reads the (small) stamp at most every
 * `checkMs`, and the document only when the stamp changed.
 */
export class KvCatalogFollower {
  private stamp: string | null = null;
  private checkedAt = -Infinity;
  private checking: Promise<void> | undefined;

  constructor(
    private readonly kv: KVNamespace,
    private readonly catalog: Catalog,
    private readonly logger: Logger,
    private readonly checkMs = 60_000,
  ) {}

  /** Cheap when nothing is due; callers await it before serving (the first call loads). */
  maybeUpdate(now: number): Promise<void> {
    if (now - this.checkedAt < this.checkMs) return Promise.resolve();
    this.checking ??= this.update(now).finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async update(now: number): Promise<void> {
    this.checkedAt = now;
    const stamp = await this.kv.get(CATALOG_STAMP_KEY, "text");
    if (stamp === null || stamp === this.stamp) return;
    const text = await this.kv.get(CATALOG_KV_KEY, "text");
    if (text === null) return;
    this.stamp = stamp;
    const result = this.catalog.load(JSON.parse(text));
    if (!result.ok) this.logger.warn({ reason: result.reason }, "catalog in KV rejected; keeping the current catalog");
  }
}
