import type { Kysely } from "kysely";
import { describeError } from "../core/app.ts";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { ConfigHolder } from "../config/index.ts";
import type { Pricer } from "../catalog/index.ts";
import { createGovernance, type CounterStore, type Governance, type GovernanceEvents, type RateLimiterStore } from "../policy/index.ts";
import { BudgetOverrideBook, overridesDb } from "../policy/overrides/index.ts";
import type { Database } from "../store/index.ts";

/** Runs `fn` once after `ms`; returns a cancel. Node's timers do not keep the process alive. */
export interface Timers {
  after(ms: number, fn: () => void): () => void;
}

/**
 * How the budget counters are kept in step with the ledger. Undefined when the counter store
 * itself is the durable truth (Workers' Durable Object): there is nothing to reconcile.
 */
export interface ReconcileLoop {
  timers: Timers;
  /**
   * Whether later runs re-sum the month from the ledger. In-memory counters (one process on the
   * embedded store) are exact once started from the ledger, and the sums block the event loop on
   * SQLite (measured: 0.5 s per run on a 300k-row month); a shared store keeps them as a safety net.
   */
  periodicSums: boolean;
}

export interface RunningGovernance extends Governance {
  /** The budget overrides and resets in force, re-read from the store every OVERRIDE_POLL_MS (and at once after a write here). */
  overrides: BudgetOverrideBook;
  /** Stops the reconcile timer and writes pending group memberships. */
  stop(): Promise<void>;
}

/**
 * Governance for one gateway: the policy priced with the gateway's one pricer, and,
 * given a reconcile loop, the first reconciliation with the ledger (awaited, so a restart starts
 * from real spend) and one every `policy.reconcileSeconds` (re-read each time: a reload applies).
 */
export async function startGovernance(options: {
  config: ConfigHolder;
  db: Kysely<Database>;
  clock: Clock;
  logger: Logger;
  /** The gateway's one pricer (catalog/pricer.ts), shared with the ledger's costs. */
  pricer: Pricer;
  counters: CounterStore | undefined;
  rates: RateLimiterStore | undefined;
  reconcile: ReconcileLoop | undefined;
  /** Soft-limit crossings and circuit changes go here (alerts). */
  events?: GovernanceEvents | undefined;
}): Promise<RunningGovernance> {
  const { config, logger, reconcile } = options;
  // Read before the first reconcile: a reset's epoch key is summed from the ledger there.
  const overrides = new BudgetOverrideBook(overridesDb(options.db), options.clock, logger);
  await overrides.start(reconcile?.timers);
  const governance = createGovernance({
    config,
    clock: options.clock,
    db: options.db,
    logger,
    counters: options.counters,
    rates: options.rates,
    pricer: options.pricer,
    overrides,
    events: options.events,
  });
  if (!reconcile) return { ...governance, overrides, stop: async () => overrides.stop() };

  await governance.reconciler.reconcile();
  let cancel: (() => void) | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    const seconds = config.current().policy?.reconcileSeconds ?? 30;
    cancel = reconcile.timers.after(seconds * 1000, () => {
      governance.reconciler
        .reconcile({ sums: reconcile.periodicSums })
        .catch((err: unknown) => logger.error({ err: describeError(err) }, "budget reconciliation with the ledger failed; counters keep their in-memory values"))
        .finally(schedule);
    });
  };
  schedule();

  return {
    ...governance,
    overrides,
    async stop() {
      stopped = true;
      cancel?.();
      overrides.stop();
      await governance.reconciler.reconcile({ sums: reconcile.periodicSums }).catch((err: unknown) => logger.error({ err: describeError(err) }, "final budget reconciliation failed"));
    },
  };
}
