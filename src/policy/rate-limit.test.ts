import { describe, expect, it } from "vitest";
import { GatewayError } from "../core/errors.ts";
import { InMemoryCounterStore } from "./counters.ts";
import { GovernancePolicy } from "./governance.ts";
import { SlidingWindowRateLimiter, type RateClaim, type RateHold, type RateLimiterStore, type RateOutcome } from "./rate-limit.ts";
import { caller, FixedClock, flatPricer, holder, ledgerRow, request } from "../../test/support/policy.ts";

const T0 = Date.UTC(2026, 10, 24, 12, 0, 30);
const chat = { model: "gpt-5", messages: [{ role: "user", content: "hi" }], max_tokens: 100 };

/**
 * A store whose `take` crosses a boundary like PostgreSQL or a Durable Object does: the
 * answer arrives on a later macrotask, and calls are decided one at a time in arrival order
 * (as row locks or the object's single thread decide them). It records what the policy did.
 */
class RemoteRateLimiter implements RateLimiterStore {
  readonly inner = new SlidingWindowRateLimiter();
  readonly released: RateHold[] = [];
  takes = 0;
  private queue: Promise<unknown> = Promise.resolve();

  take(claims: readonly RateClaim[], now: number): Promise<RateOutcome> {
    this.takes++;
    const decided = this.queue.then(() => new Promise<RateOutcome>((resolve) => setTimeout(() => resolve(this.inner.take(claims, now)), 1)));
    this.queue = decided;
    return decided;
  }
  adjust(hold: RateHold, actual: number): void {
    this.inner.adjust(hold, actual);
  }
  release(holds: readonly RateHold[]): void {
    this.released.push(...holds);
    this.inner.release(holds);
  }
  prune(now: number): void {
    this.inner.prune(now);
  }
}

function policyWith(groupRule: Record<string, unknown>) {
  return holder({ providers: { openai: {} }, policy: { groups: { eng: { models: ["openai/*"], ...groupRule } } } });
}

async function settleAll(admissions: Array<Promise<unknown>>): Promise<{ admitted: number; refused: GatewayError[] }> {
  const results = await Promise.allSettled(admissions);
  const refused: GatewayError[] = [];
  for (const r of results) {
    if (r.status === "fulfilled") continue;
    if (!(r.reason instanceof GatewayError)) throw r.reason;
    refused.push(r.reason);
  }
  return { admitted: results.length - refused.length, refused };
}

describe("rate limits with a store that answers asynchronously", () => {
  it("awaits the shared store: of 12 concurrent requests against 5 per minute, exactly 5 pass and the rest get retry-after", async () => {
    const rates = new RemoteRateLimiter();
    const gov = new GovernancePolicy({ config: policyWith({ rateLimit: { perUser: { requestsPerMinute: 5 } } }), clock: new FixedClock(T0), pricer: flatPricer, counters: new InMemoryCounterStore(), rates });
    const alice = caller("alice", ["eng"]);
    const { admitted, refused } = await settleAll(Array.from({ length: 12 }, () => gov.admit(request("openai", "/v1/chat/completions", chat, alice))));
    expect(rates.takes).toBe(12);
    expect(admitted).toBe(5);
    expect(refused).toHaveLength(7);
    for (const err of refused) {
      expect(err.code).toBe("rate_limited");
      expect(err.status).toBe(429);
      expect(err.message).toContain("your requests per minute (5)");
      expect(err.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
  });

  it("gives the holds back when the budget then refuses, and corrects token holds with the real count", async () => {
    const rates = new RemoteRateLimiter();
    const counters = new InMemoryCounterStore();
    const config = policyWith({ rateLimit: { perUser: { requestsPerMinute: 10, tokensPerMinute: 10_000 } }, budget: { perUser: { dailyUsd: 0.0002 } } });
    const gov = new GovernancePolicy({ config, clock: new FixedClock(T0), pricer: flatPricer, counters, rates });
    const bob = caller("bob", ["eng"]);
    // ~150 tokens estimated, $0.00015: the first fits the budget, the second does not.
    const first = await gov.admit(request("openai", "/v1/chat/completions", chat, bob));
    await expect(gov.admit(request("openai", "/v1/chat/completions", chat, bob))).rejects.toMatchObject({ code: "budget_exceeded" });
    expect(rates.released.map((h) => h.key).sort()).toEqual(["user:bob:rpm", "user:bob:tpm"]);
    // The refused request holds nothing: one request and its estimate are counted, no more.
    const probe = rates.inner.take([{ key: "user:bob:rpm", limit: 2, amount: 1, label: "probe" }], T0);
    expect(probe.ok).toBe(true);
    const full = rates.inner.take([{ key: "user:bob:rpm", limit: 2, amount: 1, label: "probe" }], T0);
    expect(full.ok).toBe(false);

    first.settle(ledgerRow({ input_tokens: 9_000, output_tokens: 0, cost_usd: 0 }));
    // Corrected to the real 9,000 tokens: a request estimated at ~150 no longer fits 10,000.
    const tokens = rates.inner.take([{ key: "user:bob:tpm", limit: 10_000, amount: 1_001, label: "probe" }], T0);
    expect(tokens.ok).toBe(false);
  });

  it("keeps the in-memory limiter synchronous (no promise on the single-process hot path)", () => {
    const outcome = new SlidingWindowRateLimiter().take([{ key: "k", limit: 1, amount: 1, label: "x" }], T0);
    expect(outcome).not.toBeInstanceOf(Promise);
    expect(outcome.ok).toBe(true);
  });
});
