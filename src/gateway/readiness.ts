import { sql, type Kysely } from "kysely";
import type { Clock } from "../core/clock.ts";
import type { ReadinessCheck } from "../core/readiness.ts";
import type { Catalog } from "../catalog/index.ts";
import type { ConfigHolder } from "../config/index.ts";
import type { BatchedLedgerWriter } from "../ledger/index.ts";
import type { StoreHealth } from "../store/health.ts";
import type { Database } from "../store/index.ts";

/** What `GET /readyz` checks on every runtime: shutdown, store and ledger, config, catalog. */
export function gatewayReadiness(parts: { db: Kysely<Database>; clock: Clock; ledger: BatchedLedgerWriter; storeHealth: StoreHealth; config: ConfigHolder; catalog: Catalog; shuttingDown: () => boolean }): Record<string, ReadinessCheck> {
  const { db, clock, ledger, storeHealth, config, catalog } = parts;
  return {
    shutdown: () => (parts.shuttingDown() ? "shutting down" : undefined),
    store: async () => {
      try {
        await sql`select 1`.execute(db);
      } catch (err) {
        storeHealth.failed(err);
        return `store unreachable: ${err instanceof Error ? err.message : String(err)}`;
      }
      const stats = ledger.stats();
      if (stats.failingSince !== undefined) return `ledger writes failing for ${Math.round((clock.now() - stats.failingSince) / 1000)} s (${stats.queued} rows queued in memory, ${stats.spooled} spooled)`;
      return undefined;
    },
    // Loaded = parsed and in force (a start with an invalid config fails, a bad reload keeps the last good one);
    // a gateway serving neither a provider nor an MCP server is not ready for anything.
    config: () => {
      const current = config.current();
      return Object.keys(current.providers).length > 0 || Object.keys(current.mcp ?? {}).length > 0 ? undefined : "the config serves no provider and no MCP server (check the config directory)";
    },
    catalog: () => (catalog.modelCount > 0 ? undefined : "the model catalog is empty"),
  };
}
