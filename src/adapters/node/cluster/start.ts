import { hostname } from "node:os";
import type { Kysely } from "kysely";
import type { Catalog } from "../../../catalog/index.ts";
import type { ConfigHolder } from "../../../config/index.ts";
import type { Clock } from "../../../core/clock.ts";
import type { Logger } from "../../../core/logger.ts";
import type { Settings } from "../../../core/settings.ts";
import type { Database } from "../../../store/index.ts";
import { ClusterSync } from "./sync.ts";

/** How often an instance looks for a newer config or catalog: the delay for a change to reach it. */
export const CLUSTER_POLL_MS = 2_000;

/** Starts config and catalog sharing for a PostgreSQL-backed instance; returns its stop function. */
export async function startClusterSync(options: { db: Kysely<Database>; config: ConfigHolder; catalog: Catalog; clock: Clock; logger: Logger; settings: Settings; offline: boolean }): Promise<() => Promise<void>> {
  const sync = new ClusterSync({
    db: options.db,
    config: options.config,
    catalog: options.catalog,
    clock: options.clock,
    logger: options.logger,
    instanceId: `${hostname()}:${process.pid}`,
    pollMs: CLUSTER_POLL_MS,
    catalogRefreshMs: options.offline ? 0 : options.settings.catalogRefreshMs,
    catalogUrl: options.settings.catalogUrl,
  });
  await sync.start();
  return () => sync.stop();
}
