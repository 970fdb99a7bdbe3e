import { sql, type Kysely } from "kysely";
import type { Logger } from "../../../core/logger.ts";
import { describeError } from "../../../core/app.ts";
import { LogThrottle } from "../../../core/log-throttle.ts";
import { slidingWindowRetryAfter, type RateClaim, type RateHold, type RateLimiterStore, type RateOutcome } from "../../../policy/rate-limit.ts";
import type { Database } from "../../../store/index.ts";

/** A rate limiter whose `take` crosses the network (PostgreSQL, a Durable Object): always a promise. */
export type SharedRateLimiterStore = RateLimiterStore & {
  take(claims: readonly RateClaim[], now: number): Promise<RateOutcome>;
};

const WINDOW_MS = 60_000;

/**
 * The policy's sliding-window limit (this minute's count plus the previous minute's,
 * weighted by how much of it lies in the last 60 s) kept in PostgreSQL, so every instance
 * counts against the same windows. `take` locks the rows of its keys in key order, checks
 * every claim and adds to all of them in one transaction (five round trips).
 */
export class PostgresRateLimiter implements SharedRateLimiterStore {
  /** Corrections fail per request while the store is down: rate-limited lines. */
  private readonly log: LogThrottle;

  constructor(
    private readonly db: Kysely<Database>,
    logger: Logger,
  ) {
    this.log = new LogThrottle(logger);
  }

  async take(claims: readonly RateClaim[], now: number): Promise<RateOutcome> {
    if (claims.length === 0) return { ok: true, holds: [] };
    const index = Math.floor(now / WINDOW_MS);
    const start = index * WINDOW_MS;
    const elapsed = (now % WINDOW_MS) / WINDOW_MS;
    const keys = [...new Set(claims.map((c) => c.key))].sort();
    return this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto("rate_windows")
        .values(keys.map((key) => ({ key, window_start: start, amount: 0 })))
        .onConflict((oc) => oc.columns(["key", "window_start"]).doNothing())
        .execute();
      // Both minutes in one read; the lock (key, then minute order: no deadlocks) covers the
      // current row that is added to, and the previous one a correction may still change.
      const rows = await trx
        .selectFrom("rate_windows")
        .select(["key", "window_start", "amount"])
        .where("key", "in", keys)
        .where("window_start", "in", [start - WINDOW_MS, start])
        .orderBy("key")
        .orderBy("window_start")
        .forUpdate()
        .execute();
      const cur = new Map<string, number>();
      const prev = new Map<string, number>();
      for (const row of rows) (Number(row.window_start) === start ? cur : prev).set(row.key, row.amount);
      for (const claim of claims) {
        const c = cur.get(claim.key) ?? 0;
        const p = prev.get(claim.key) ?? 0;
        const estimate = p * (1 - elapsed) + c;
        // As in memory: one request larger than the limit passes alone in an empty window.
        const fitsAlone = claim.amount > claim.limit && c === 0 && p * (1 - elapsed) < 1;
        if (estimate + claim.amount > claim.limit && !fitsAlone) return { ok: false as const, claim, retryAfterSeconds: slidingWindowRetryAfter(c, p, claim, elapsed) };
      }
      // One statement adds every claim (amounts summed per key: a row may change once per statement).
      const added = new Map<string, number>();
      for (const claim of claims) added.set(claim.key, (added.get(claim.key) ?? 0) + claim.amount);
      await trx
        .insertInto("rate_windows")
        .values([...added].map(([key, amount]) => ({ key, window_start: start, amount })))
        .onConflict((oc) => oc.columns(["key", "window_start"]).doUpdateSet({ amount: sql<number>`rate_windows.amount + excluded.amount` }))
        .execute();
      const holds: RateHold[] = claims.map((claim) => ({ key: claim.key, window: index, amount: claim.amount }));
      return { ok: true as const, holds };
    });
  }

  adjust(hold: RateHold, actual: number): void {
    void this.correct(hold, actual - hold.amount);
  }

  release(holds: readonly RateHold[]): void {
    for (const hold of holds) void this.correct(hold, -hold.amount);
  }

  prune(now: number): void {
    const oldest = (Math.floor(now / WINDOW_MS) - 1) * WINDOW_MS;
    this.db
      .deleteFrom("rate_windows")
      .where("window_start", "<", oldest)
      .execute()
      .catch((err: unknown) => this.log.warn({ err: describeError(err) }, "pruning rate-limit windows failed; will retry"));
  }

  private async correct(hold: RateHold, delta: number): Promise<void> {
    if (delta === 0) return;
    try {
      // The hold's own minute row: once it is the previous minute, it still weighs the estimate.
      await this.db
        .updateTable("rate_windows")
        .set({ amount: sql<number>`greatest(0, amount + ${delta})` })
        .where("key", "=", hold.key)
        .where("window_start", "=", hold.window * WINDOW_MS)
        .execute();
    } catch (err) {
      this.log.warn({ err: describeError(err) }, "rate-limit correction failed; the window keeps the estimate");
    }
  }
}
