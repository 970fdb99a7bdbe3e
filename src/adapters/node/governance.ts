import type { Kysely } from "kysely";
import type { AppModule } from "../../core/app.ts";
import type { Clock } from "../../core/clock.ts";
import type { Logger } from "../../core/logger.ts";
import type { ConfigHolder } from "../../config/index.ts";
import type { Pricer } from "../../catalog/index.ts";
import { createDashboardModule } from "../../dashboard/index.ts";
import { createMetricsModule, MetricsRegistry } from "../../metrics/index.ts";
import { createGovernance, type CounterStore, type Governance, type RateLimiterStore } from "../../policy/index.ts";
import type { Database } from "../../store/index.ts";
import { nodeDashboardAssets } from "./dashboard-assets.ts";
import { describeError } from "../../core/app.ts";
import { PostgresCounterStore, PostgresRateLimiter } from "./cluster/index.ts";

export interface RunningGovernance extends Governance {
  /** What /metrics renders; fed by its subscriber on the proxy's observer. */
  metrics: MetricsRegistry;
  /** Dashboard and /metrics. */
  modules: AppModule[];
  /** Stops the reconcile timer and writes pending group memberships. */
  stop(): Promise<void>;
}

/**
 * Builds governance for one Node process: the policy priced with the gateway's one pricer, the first
 * reconciliation with the ledger (awaited, so a restart starts from real spend), and a
 * reconcile loop every `policy.reconcileSeconds` (re-read each time: a reload applies).
 * Given the PostgreSQL budget store (`serve` with DATABASE_URL), rate limits are kept in
 * PostgreSQL as well, unless `rates` is passed.
 */
export async function startGovernance(options: {
  config: ConfigHolder;
  db: Kysely<Database>;
  clock: Clock;
  logger: Logger;
  pricer: Pricer;
  counters?: CounterStore;
  rates?: RateLimiterStore;
}): Promise<RunningGovernance> {
  const { config, logger } = options;
  // Budgets in PostgreSQL mean several instances: their rate windows must be shared too, or
  // N instances would each admit the full limit (N x the limit in total).
  const rates = options.rates ?? (options.counters instanceof PostgresCounterStore ? new PostgresRateLimiter(options.db, logger) : undefined);
  const governance = createGovernance({
    config,
    clock: options.clock,
    db: options.db,
    logger,
    counters: options.counters,
    rates,
    pricer: options.pricer,
  });
  await governance.reconciler.reconcile();

  // In-memory counters (one process on the embedded store) are exact once started from the
  // ledger: later runs skip the month-long sums, which block the event loop on SQLite (measured:
  // 0.5 s per run on a 300k-row month). A shared store keeps the periodic sums as a safety net.
  const periodicSums = options.counters !== undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    const seconds = config.current().policy?.reconcileSeconds ?? 30;
    timer = setTimeout(() => {
      governance.reconciler
        .reconcile({ sums: periodicSums })
        .catch((err: unknown) => logger.error({ err: describeError(err) }, "budget reconciliation with the ledger failed; counters keep their in-memory values"))
        .finally(schedule);
    }, seconds * 1000);
    timer.unref();
  };
  schedule();

  const metrics = new MetricsRegistry();
  return {
    ...governance,
    metrics,
    modules: [createDashboardModule(nodeDashboardAssets()), createMetricsModule(metrics)],
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await governance.reconciler.reconcile({ sums: periodicSums }).catch((err: unknown) => logger.error({ err: describeError(err) }, "final budget reconciliation failed"));
    },
  };
}
