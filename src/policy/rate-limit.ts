/**
 * Requests and tokens per minute with a sliding-window counter: the count of the current
 * fixed minute plus the previous minute's count weighted by how much of it still lies in
 * the last 60 seconds. It smooths the burst a fixed window allows at its boundary (2x the
 * limit across two windows) with two numbers per key instead of a log of timestamps.
 */
export interface RateClaim {
  key: string;
  limit: number;
  amount: number;
  label: string;
}

export interface RateHold {
  readonly key: string;
  readonly window: number;
  readonly amount: number;
}

export type RateOutcome = { ok: true; holds: RateHold[] } | { ok: false; claim: RateClaim; retryAfterSeconds: number };

export interface RateLimiterStore {
  /**
   * Checks every claim and adds to all of them, or to none, as one atomic step. The
   * in-memory store answers synchronously (a single process pays no await per request); a
   * shared one (PostgreSQL, a Durable Object) returns a promise.
   */
  take(claims: readonly RateClaim[], now: number): RateOutcome | Promise<RateOutcome>;
  /** Corrects a token hold with the real count once known (requests holds are never corrected). */
  adjust(hold: RateHold, actual: number): void;
  /** Gives back holds of a request that was refused by a later check. */
  release(holds: readonly RateHold[]): void;
  /** Drops idle keys (no traffic in the last two windows). */
  prune(now: number): void;
}

const WINDOW_MS = 60_000;

interface Window {
  index: number;
  current: number;
  previous: number;
}

export class SlidingWindowRateLimiter implements RateLimiterStore {
  private readonly windows = new Map<string, Window>();

  take(claims: readonly RateClaim[], now: number): RateOutcome {
    const index = Math.floor(now / WINDOW_MS);
    const elapsed = (now % WINDOW_MS) / WINDOW_MS;
    for (const claim of claims) {
      const w = this.roll(claim.key, index);
      const estimate = w.previous * (1 - elapsed) + w.current;
      // A single request larger than the limit could never pass; let it through alone
      // (an empty window) rather than lock the caller out for good.
      const fitsAlone = claim.amount > claim.limit && w.current === 0 && w.previous * (1 - elapsed) < 1;
      if (estimate + claim.amount > claim.limit && !fitsAlone) return { ok: false, claim, retryAfterSeconds: slidingWindowRetryAfter(w.current, w.previous, claim, elapsed) };
    }
    const holds: RateHold[] = [];
    for (const claim of claims) {
      const w = this.roll(claim.key, index);
      w.current += claim.amount;
      holds.push({ key: claim.key, window: index, amount: claim.amount });
    }
    return { ok: true, holds };
  }

  adjust(hold: RateHold, actual: number): void {
    this.correct(hold, actual - hold.amount);
  }

  release(holds: readonly RateHold[]): void {
    for (const hold of holds) this.correct(hold, -hold.amount);
  }

  prune(now: number): void {
    const index = Math.floor(now / WINDOW_MS);
    for (const [key, w] of this.windows) if (w.index < index - 1) this.windows.delete(key);
  }

  private correct(hold: RateHold, delta: number): void {
    const w = this.windows.get(hold.key);
    if (!w) return;
    // The hold's minute may have become the previous one meanwhile; older minutes no longer count.
    if (w.index === hold.window) w.current = Math.max(0, w.current + delta);
    else if (w.index === hold.window + 1) w.previous = Math.max(0, w.previous + delta);
  }

  private roll(key: string, index: number): Window {
    let w = this.windows.get(key);
    if (!w) {
      w = { index, current: 0, previous: 0 };
      this.windows.set(key, w);
    } else if (w.index !== index) {
      w.previous = w.index === index - 1 ? w.current : 0;
      w.current = 0;
      w.index = index;
    }
    return w;
  }
}

/**
 * Seconds until the sliding window's weighted count (this minute + the previous minute's,
 * decaying) has dropped enough for the claim to fit. One formula for every store: in
 * memory, PostgreSQL and the Durable Object.
 */
export function slidingWindowRetryAfter(current: number, previous: number, claim: RateClaim, elapsed: number): number {
  const room = claim.limit - claim.amount;
  if (current <= room && previous > 0) {
    // Fits within this minute once the previous minute's weight has decayed enough.
    const needed = 1 - (room - current) / previous;
    return Math.max(1, Math.ceil((needed - elapsed) * 60));
  }
  // Next minute: this minute's count becomes the decaying previous one.
  const toNext = (1 - elapsed) * 60;
  const needed = current > 0 ? Math.max(0, 1 - Math.max(0, room) / current) : 0;
  return Math.max(1, Math.ceil(toNext + needed * 60));
}
