import { sql, type Kysely } from "kysely";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import { describeError } from "../core/app.ts";
import type { Database } from "../store/index.ts";
import { dayKey, monthKey, periodsOf, type CounterStore } from "./counters.ts";
import type { RateLimiterStore } from "./rate-limit.ts";
import { epochKey, type BudgetOverrideBook } from "./overrides/book.ts";
import { spentSinceReset } from "./overrides/store.ts";
import { overridesDb } from "./overrides/tables.ts";

/**
 * Brings the in-memory budget counters in line with the ledger: what was spent today and
 * this month per caller, and per group through `caller_groups`. Runs at start (so a restart
 * does not reset spend) and then periodically off the request path; the adapter owns the
 * timer. Group memberships the policy saw are written here too, in one batch.
 */
export class LedgerReconciler {
  private pendingMembership = new Map<string, readonly string[]>();
  private readonly known = new Map<string, string>();
  private running: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly counters: CounterStore,
    private readonly rates: RateLimiterStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Resets of the current periods: their epoch keys are summed from the reset on. */
    private readonly overrides?: BudgetOverrideBook,
  ) {}

  /** Cheap, synchronous: remembers a caller's groups when they changed since last seen. */
  noteMembership = (callerId: string, groups: readonly string[]): void => {
    const signature = groups.join("\u0000");
    if (this.known.get(callerId) === signature) return;
    this.known.set(callerId, signature);
    this.pendingMembership.set(callerId, groups);
  };

  /**
   * One reconciliation; concurrent calls share the run in progress. `sums: false` only
   * records group memberships and drops ended periods: the month-long ledger sums are a scan
   * that a synchronous store (the embedded SQLite) runs on the event loop, so a single
   * process, whose in-memory counters are exact, needs them only at start.
   */
  reconcile(options: { sums?: boolean } = {}): Promise<void> {
    const sums = options.sums ?? true;
    this.running ??= this.run(sums).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(sums: boolean): Promise<void> {
    const now = this.clock.now();
    const { day, month } = periodsOf(now);
    await this.flushMembership(now);
    if (!sums) {
      this.counters.prune((key) => key.endsWith(`:d:${day}`) || key.endsWith(`:m:${month}`));
      this.rates.prune(now);
      return;
    }
    const totals = new Map<string, number>();
    const monthStart = `${month}-01`;

    const perCaller = await this.db
      .selectFrom("ledger")
      .select(["caller_id", sql<number>`coalesce(sum(cost_usd), 0)`.as("month_usd"), sql<number>`coalesce(sum(case when day = ${day} then cost_usd else 0 end), 0)`.as("day_usd")])
      .where("day", ">=", monthStart)
      .where("day", "<=", day)
      .groupBy("caller_id")
      .execute();
    for (const row of perCaller) {
      totals.set(dayKey(`user:${row.caller_id}`, day), Number(row.day_usd));
      totals.set(monthKey(`user:${row.caller_id}`, month), Number(row.month_usd));
    }

    const perGroup = await this.db
      .selectFrom("ledger")
      .innerJoin("caller_groups", "caller_groups.caller_id", "ledger.caller_id")
      .select(["caller_groups.group_name as group_name", sql<number>`coalesce(sum(ledger.cost_usd), 0)`.as("month_usd"), sql<number>`coalesce(sum(case when ledger.day = ${day} then ledger.cost_usd else 0 end), 0)`.as("day_usd")])
      .where("ledger.day", ">=", monthStart)
      .where("ledger.day", "<=", day)
      .groupBy("caller_groups.group_name")
      .execute();
    for (const row of perGroup) {
      totals.set(dayKey(`group:${row.group_name}`, day), Number(row.day_usd));
      totals.set(monthKey(`group:${row.group_name}`, month), Number(row.month_usd));
    }

    for (const reset of this.overrides?.currentResets(now) ?? []) {
      totals.set(epochKey(reset.scope, reset.period, reset.periodKey, reset.resetAt), await spentSinceReset(overridesDb(this.db), reset));
    }

    await this.counters.reconcile(totals);
    this.counters.prune((key) => key.endsWith(`:d:${day}`) || key.endsWith(`:m:${month}`));
    this.rates.prune(now);
  }

  private async flushMembership(now: number): Promise<void> {
    if (this.pendingMembership.size === 0) return;
    const batch = this.pendingMembership;
    this.pendingMembership = new Map();
    try {
      await this.db.transaction().execute(async (trx) => {
        for (const [callerId, groups] of batch) {
          await trx.deleteFrom("caller_groups").where("caller_id", "=", callerId).execute();
          if (groups.length > 0)
            await trx
              .insertInto("caller_groups")
              .values(groups.map((group_name) => ({ caller_id: callerId, group_name, updated_at: now })))
              .execute();
        }
      });
    } catch (err) {
      // Keep them for the next run (newer entries win) and say so; spend itself is never lost, only its group attribution is late.
      for (const [callerId, groups] of batch) if (!this.pendingMembership.has(callerId)) this.pendingMembership.set(callerId, groups);
      this.logger.error({ err: describeError(err), callers: batch.size }, "could not record group memberships; will retry");
    }
  }
}
