import { describe, expect, it } from "vitest";
import { GatewayError } from "../core/errors.ts";
import { silentLogger } from "../core/logger.ts";
import { StoreHealth } from "../store/health.ts";
import { InMemoryCounterStore, type BudgetClaim, type CounterStore, type Reservation, type ReserveOutcome } from "./counters.ts";
import { budgetDenial } from "./denial.ts";
import { OutageAwareCounters, OutageAwareRates } from "./outage.ts";
import type { StoreOutagePolicy } from "../config/policy-schema.ts";
import { SlidingWindowRateLimiter, type RateClaim, type RateOutcome } from "./rate-limit.ts";

const connectionRefused = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });

/** An in-memory store behind a switch: while `down`, every call fails like a stopped PostgreSQL. */
class SwitchableStore implements CounterStore {
  readonly real = new InMemoryCounterStore();
  down = false;
  calls = 0;
  reserve(claims: readonly BudgetClaim[], amountUsd: number): Promise<ReserveOutcome> {
    this.calls++;
    return this.down ? Promise.reject(connectionRefused()) : Promise.resolve(this.real.reserve(claims, amountUsd));
  }
  settle(reservation: Reservation, actualUsd: number): void {
    this.real.settle(reservation, actualUsd);
  }
  reconcile(totals: ReadonlyMap<string, number>): void {
    this.real.reconcile(totals);
  }
  used(key: string): number {
    return this.real.used(key);
  }
  prune(isLive: (key: string) => boolean): void {
    this.real.prune(isLive);
  }
}

const day = (user: string, limitUsd: number): BudgetClaim => ({ key: `user:${user}:d:2026-12-01`, limitUsd, resetsAt: Date.UTC(2026, 11, 2), label: "your daily budget" });

function setup(policy: StoreOutagePolicy) {
  let t = 1_000_000;
  const health = new StoreHealth(() => t, 1_000);
  const inner = new SwitchableStore();
  const counters = new OutageAwareCounters(inner, { health, policy: () => policy, logger: silentLogger });
  return { health, inner, counters, advance: (ms: number) => (t += ms) };
}

async function refusal(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

describe("budgets while the store is down", () => {
  it("closed (default): a 503 with retry-after, and the dead store is tried once per probe interval, not per request", async () => {
    const { inner, counters, health, advance } = setup({ mode: "closed", retryAfterSeconds: 7, openAllowanceUsd: 1 });
    inner.down = true;
    const first = await refusal(counters.reserve([day("u1", 10)], 0.01));
    expect(first.status).toBe(503);
    expect(first.code).toBe("store_unavailable");
    expect(first.retryAfterSeconds).toBe(7);
    expect(first.message).toContain("refuses rather than let the request through unchecked");
    expect(health.up).toBe(false);
    for (let i = 0; i < 50; i++) expect((await refusal(counters.reserve([day(`u${i}`, 10)], 0.01))).status).toBe(503);
    expect(inner.calls).toBe(1);
    advance(1_000);
    inner.down = false;
    const back = await counters.reserve([day("u1", 10)], 0.01);
    expect(back.ok).toBe(true);
    expect(health.up).toBe(true);
  });

  it("a store error that does not mean 'unreachable' fails that request closed without marking the store down", async () => {
    const { inner, counters, health } = setup({ mode: "closed", retryAfterSeconds: 5, openAllowanceUsd: 1 });
    inner.reserve = () => Promise.reject(Object.assign(new Error("deadlock detected"), { code: "40P01" }));
    expect((await refusal(counters.reserve([day("u1", 10)], 0.01))).status).toBe(503);
    expect(health.up).toBe(true);
  });

  it("open: admits up to the per-user allowance, never past the budget last seen, and adds the real cost to the store once it is back", async () => {
    const { inner, counters, health, advance } = setup({ mode: "open", retryAfterSeconds: 5, openAllowanceUsd: 0.05 });
    // Before the outage u1 spent $0.97 of $1.00.
    const before = await counters.reserve([day("u1", 1)], 0.97);
    if (!before.ok) throw new Error("refused");
    await counters.settle(before.reservation, 0.97);
    inner.down = true;

    // u2 may spend the allowance ($0.05) on this instance, then gets the 503 again.
    const granted: Reservation[] = [];
    for (let i = 0; i < 5; i++) {
      const outcome = await counters.reserve([day("u2", 100)], 0.01);
      if (!outcome.ok) throw new Error("u2 refused by a budget");
      granted.push(outcome.reservation);
    }
    const over = await refusal(counters.reserve([day("u2", 100)], 0.01));
    expect(over.status).toBe(503);
    expect(over.message).toContain("allowance while it is down ($0.05) is used up");
    // u1 has allowance left but not budget: $0.97 of $1.00 was spent before the outage.
    const u1 = await counters.reserve([day("u1", 1)], 0.04);
    expect(u1.ok).toBe(false);
    // A settle below the estimate gives allowance back.
    for (const r of granted) await counters.settle(r, 0.002);
    expect((await counters.reserve([day("u2", 100)], 0.01)).ok).toBe(true);

    // Back: the real outage spend is in the store's counters (5 x $0.002), the estimate of the open one is not.
    advance(1_000);
    inner.down = false;
    const after = await counters.reserve([day("u3", 1)], 0.01);
    expect(after.ok).toBe(true);
    expect(health.up).toBe(true);
    expect(inner.real.used("user:u2:d:2026-12-01")).toBeCloseTo(0.01, 9);
    expect(inner.real.used("user:u1:d:2026-12-01")).toBeCloseTo(0.97, 9);
  });
});

describe("the denial's wording", () => {
  const claim = day("u1", 1);
  const now = Date.UTC(2026, 11, 1, 8);

  it("says the budget is held by reservations, with a retry in seconds, when settled spend leaves room", () => {
    const err = budgetDenial({ ok: false, claim, usedUsd: 0.9, reservedUsd: 0.6, reservationBoundMs: 15_000 }, 0.2, now);
    expect(err.message).toMatch(/^Budget held: your daily budget of \$1\.00 has \$0\.30 spent and \$0\.60 reserved by requests still in flight/);
    expect(err.message).toContain("settled within 15s");
    expect(err.retryAfterSeconds).toBe(15);
  });

  it("says the budget is reached, with the period's reset, when settled spend alone leaves no room", () => {
    const err = budgetDenial({ ok: false, claim, usedUsd: 0.95, reservedUsd: 0.1, reservationBoundMs: 15_000 }, 0.2, now);
    expect(err.message).toMatch(/^Budget reached: your daily budget of \$1\.00 has \$0\.05 left/);
    expect(err.message).toContain("It resets at 2026-12-02T00:00:00.000Z");
    expect(err.retryAfterSeconds).toBe(16 * 3600);
  });
});

describe("rate limits while the store is down", () => {
  class DeadRates extends SlidingWindowRateLimiter {
    override take(): RateOutcome {
      throw connectionRefused();
    }
  }
  const claim: RateClaim = { key: "user:u1:rpm", limit: 3, amount: 1, label: "your requests per minute" };

  it("closed: 503; open: this instance's own window", async () => {
    const health = new StoreHealth(() => 0);
    let policy: StoreOutagePolicy = { mode: "closed", retryAfterSeconds: 5, openAllowanceUsd: 1 };
    const rates = new OutageAwareRates(new DeadRates(), { health, policy: () => policy, logger: silentLogger });
    expect((await refusal(rates.take([claim], 0))).status).toBe(503);
    policy = { ...policy, mode: "open" };
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => rates.take([claim], 0)));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(3);
  });
});
