/**
 * Budget counters. The policy reserves an estimated cost on every budget that applies
 * before a request is forwarded and settles the real cost afterwards. The contract every
 * implementation keeps (and the tests check): a reservation is granted only if, for every
 * key, settled + outstanding reservations + amount <= limit, checked and applied as one
 * atomic step. So concurrent requests can never be granted more than the limit in total,
 * and real spend stays within the limit whenever each request's estimate is an upper
 * bound of its cost.
 *
 * The in-memory store is exact for one process. A shared store (PostgreSQL row locks, a
 * Durable Object) implements the same interface for many instances.
 */
export interface BudgetClaim {
  /** Counter key, e.g. `user:<id>:d:2026-11-24` or `group:eng:m:2026-11`. */
  key: string;
  limitUsd: number;
  /** Epoch ms when the period ends: the `retry-after` of a denial. */
  resetsAt: number;
  /** For the denial message: "your daily budget", "group eng's monthly budget". */
  label: string;
  /** Soft limit: the fraction of `limitUsd` at which the policy reports a threshold crossing (alerts). */
  warnAt?: number | undefined;
}

export interface Reservation {
  readonly id: number;
  readonly keys: readonly string[];
  readonly amountUsd: number;
}

export type ReserveOutcome = { ok: true; reservation: Reservation } | ReserveRefusal;

export interface ReserveRefusal {
  ok: false;
  claim: BudgetClaim;
  /** Settled + outstanding reservations on the claim's key. */
  usedUsd: number;
  /** The part of `usedUsd` that is outstanding reservations (requests in flight, or of a stopped instance). */
  reservedUsd?: number;
  /** Upper bound in ms on how long a reservation of a stopped instance still counts (shared stores). */
  reservationBoundMs?: number;
}

export interface CounterStore {
  /**
   * All-or-nothing: reserves `amountUsd` on every claim, or on none and names the first that
   * would overflow. `requestId` ties the reservation to the request's ledger row (a shared
   * store charges a lapsed reservation that row's real cost when it exists).
   */
  reserve(claims: readonly BudgetClaim[], amountUsd: number, requestId?: string): ReserveOutcome | Promise<ReserveOutcome>;
  /** Replaces the reservation with the real cost (0 for a failed request). Called once per reservation. */
  settle(reservation: Reservation, actualUsd: number): void | Promise<void>;
  /**
   * Brings settled spend up to the ledger's totals for the given keys (spend recorded
   * before a restart or by another instance). Never lowers a counter: rows this process
   * settled may not be flushed to the ledger yet.
   */
  reconcile(totals: ReadonlyMap<string, number>): void | Promise<void>;
  /** Settled + reserved, for the dashboard and tests. */
  used(key: string): number;
  /** Drops counters of periods that ended (keys whose period is not in `livePeriods`). */
  prune(isLive: (key: string) => boolean): void;
}

interface Counter {
  settled: number;
  reserved: number;
}

// Cents are summed as floats; a tiny tolerance keeps an exact fit (50 x $0.02 in $1.00) admitted.
const EPSILON = 1e-9;

export class InMemoryCounterStore implements CounterStore {
  private readonly counters = new Map<string, Counter>();
  private nextId = 1;

  reserve(claims: readonly BudgetClaim[], amountUsd: number): ReserveOutcome {
    // Check every claim before touching any: no await between check and apply, so this is atomic in one process.
    for (const claim of claims) {
      const counter = this.counters.get(claim.key);
      const used = counter ? counter.settled + counter.reserved : 0;
      if (used >= claim.limitUsd - EPSILON || used + amountUsd > claim.limitUsd + EPSILON) return { ok: false, claim, usedUsd: used, reservedUsd: counter?.reserved ?? 0 };
    }
    for (const claim of claims) this.counter(claim.key).reserved += amountUsd;
    return { ok: true, reservation: { id: this.nextId++, keys: claims.map((c) => c.key), amountUsd } };
  }

  settle(reservation: Reservation, actualUsd: number): void {
    for (const key of reservation.keys) {
      const counter = this.counter(key);
      counter.reserved = Math.max(0, counter.reserved - reservation.amountUsd);
      counter.settled += actualUsd;
    }
  }

  reconcile(totals: ReadonlyMap<string, number>): void {
    for (const [key, total] of totals) {
      const counter = this.counter(key);
      if (total > counter.settled) counter.settled = total;
    }
  }

  used(key: string): number {
    const counter = this.counters.get(key);
    return counter ? counter.settled + counter.reserved : 0;
  }

  prune(isLive: (key: string) => boolean): void {
    for (const [key, counter] of this.counters) if (!isLive(key) && counter.reserved <= EPSILON) this.counters.delete(key);
  }

  get size(): number {
    return this.counters.size;
  }

  private counter(key: string): Counter {
    let counter = this.counters.get(key);
    if (!counter) {
      counter = { settled: 0, reserved: 0 };
      this.counters.set(key, counter);
    }
    return counter;
  }
}

/** UTC period keys: spend is attributed to the day and month the request arrived, as the ledger's `day` column is. */
export function periodsOf(ts: number): { day: string; month: string; dayEndsAt: number; monthEndsAt: number } {
  const d = new Date(ts);
  const day = d.toISOString().slice(0, 10);
  const month = day.slice(0, 7);
  const dayEndsAt = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
  const monthEndsAt = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return { day, month, dayEndsAt, monthEndsAt };
}

export const dayKey = (scope: string, day: string): string => `${scope}:d:${day}`;
export const monthKey = (scope: string, month: string): string => `${scope}:m:${month}`;
