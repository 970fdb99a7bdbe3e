import type { Kysely } from "kysely";
import { describeError } from "../../core/app.ts";
import type { Clock } from "../../core/clock.ts";
import { LogThrottle } from "../../core/log-throttle.ts";
import type { Logger } from "../../core/logger.ts";
import { periodsOf } from "../counters.ts";
import { loadActive } from "./store.ts";
import type { OverrideTables } from "./tables.ts";
import type { BudgetOverride, BudgetPeriod, BudgetReset } from "./types.ts";

/** How often each instance re-reads the overrides: an override made anywhere applies everywhere within this (plus one query). */
export const OVERRIDE_POLL_MS = 2_000;

/** What the budget check uses for one budget after overrides and resets. */
export interface EffectiveBudget {
  /** The counter key: the period's, with the reset epoch when the period was reset. */
  key: string;
  limitUsd: number;
  /** For the denial message and alerts, e.g. "raised +$50.00 until 2026-12-02T00:00:00Z"; undefined when nothing applies. */
  note: string | undefined;
  /** When the current period was reset (its counter counts from then); undefined when it was not. */
  resetAt: number | undefined;
}

/** Runs `fn` once after `ms`; returns a cancel (the gateway's Timers, structurally). */
export interface OverrideTimers {
  after(ms: number, fn: () => void): () => void;
}

/**
 * The active budget overrides and resets, held in memory so the budget check reads them
 * without awaiting the store. `refresh()` re-reads them (every OVERRIDE_POLL_MS once started,
 * and at once after this instance wrote one). Whether an override applies is decided with the
 * clock at each request, so one stops applying exactly at its `endsAt`, whenever the last
 * refresh was.
 */
export class BudgetOverrideBook {
  private byScope = new Map<string, BudgetOverride[]>();
  private resets = new Map<string, BudgetReset>();
  private running: Promise<void> | undefined;
  private cancel: (() => void) | undefined;
  private stopped = false;
  /** Without timers (Workers): re-read when a request finds the snapshot older than this. */
  private lazyPollMs: number | undefined;
  private loadedAt = 0;
  private readonly log: LogThrottle;

  constructor(
    private readonly db: Kysely<OverrideTables> | undefined,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.log = new LogThrottle(logger, () => clock.now());
  }

  /** Replaces the snapshot (tests, and `refresh`). */
  replace(overrides: readonly BudgetOverride[], resets: readonly BudgetReset[]): void {
    const byScope = new Map<string, BudgetOverride[]>();
    for (const o of overrides) {
      if (o.revokedAt !== null) continue;
      const key = `${o.scope}|${o.period}`;
      byScope.set(key, [...(byScope.get(key) ?? []), o]);
    }
    const latest = new Map<string, BudgetReset>();
    for (const r of resets) {
      const key = `${r.scope}|${r.period}|${r.periodKey}`;
      const seen = latest.get(key);
      if (!seen || r.resetAt > seen.resetAt) latest.set(key, r);
    }
    this.byScope = byScope;
    this.resets = latest;
  }

  /** The resets of the current periods (the reconciler sums the ledger from each epoch). */
  currentResets(now: number): BudgetReset[] {
    const { day, month } = periodsOf(now);
    return [...this.resets.values()].filter((r) => r.resetAt <= now && r.periodKey === (r.period === "day" ? day : month));
  }

  /**
   * The budget `scope` (`user:<id>`, `group:<name>`) has for `period` at `now`: the configured
   * limit, replaced by the newest active cap, plus every active raise; the counter key carries
   * the latest reset epoch of the current period.
   */
  effective(scope: string, period: BudgetPeriod, periodKey: string, configuredUsd: number, now: number): EffectiveBudget {
    // No timer to poll with: the first request past the interval starts a re-read (not awaited; the next requests see it).
    if (this.lazyPollMs !== undefined && now - this.loadedAt >= this.lazyPollMs && !this.running) void this.refresh();
    const base = `${scope}:${period === "day" ? "d" : "m"}:${periodKey}`;
    const reset = this.resets.get(`${scope}|${period}|${periodKey}`);
    const key = reset && reset.resetAt <= now ? epochKey(scope, period, periodKey, reset.resetAt) : base;
    const overrides = this.byScope.get(`${scope}|${period}`);
    const notes: string[] = [];
    if (reset && reset.resetAt <= now) notes.push(`reset at ${iso(reset.resetAt)}`);
    let limitUsd = configuredUsd;
    if (overrides) {
      let cap: BudgetOverride | undefined;
      let raised = 0;
      let raisedUntil = 0;
      for (const o of overrides) {
        if (!(o.startsAt <= now && now < o.endsAt)) continue;
        if (o.kind === "cap") {
          if (!cap || o.createdAt > cap.createdAt) cap = o;
        } else {
          raised += o.amountUsd;
          raisedUntil = Math.max(raisedUntil, o.endsAt);
        }
      }
      if (cap) {
        limitUsd = cap.amountUsd;
        notes.push(`cap $${cap.amountUsd.toFixed(2)} until ${iso(cap.endsAt)}`);
      }
      if (raised > 0) {
        limitUsd += raised;
        notes.push(`raised +$${raised.toFixed(2)} until ${iso(raisedUntil)}`);
      }
    }
    return { key, limitUsd, note: notes.length > 0 ? notes.join(", ") : undefined, resetAt: reset && reset.resetAt <= now ? reset.resetAt : undefined };
  }

  /** Re-reads the active overrides and current resets; concurrent calls share one read. A failed read keeps the last snapshot. */
  refresh(): Promise<void> {
    this.running ??= this.load(false).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Loads once (awaited: a start applies the overrides in force) and then every `pollMs` (without timers: on the first request after each `pollMs`). */
  async start(timers: OverrideTimers | undefined, pollMs = OVERRIDE_POLL_MS): Promise<void> {
    // The first read must succeed: a cap that lowers a budget must not be skipped (fail closed).
    await this.load(true);
    if (!timers) {
      this.lazyPollMs = pollMs;
      return;
    }
    const schedule = () => {
      if (this.stopped) return;
      this.cancel = timers.after(pollMs, () => {
        void this.refresh().finally(schedule);
      });
    };
    schedule();
  }

  stop(): void {
    this.stopped = true;
    this.cancel?.();
  }

  private async load(throwOnError: boolean): Promise<void> {
    if (!this.db) return;
    try {
      const startedAt = this.clock.now();
      const { overrides, resets } = await loadActive(this.db, startedAt);
      this.replace(overrides, resets);
      this.loadedAt = startedAt;
    } catch (err) {
      if (throwOnError) throw new Error("cannot read budget overrides from the store", { cause: err });
      this.log.warn({ err: describeError(err) }, "could not re-read budget overrides; the last ones read keep applying");
    }
  }
}

/** The counter key of a period started over at `resetAt`: the scope carries the epoch, so period-based pruning still sees the period. */
export function epochKey(scope: string, period: BudgetPeriod, periodKey: string, resetAt: number): string {
  return `${scope}@r${resetAt}:${period === "day" ? "d" : "m"}:${periodKey}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}
