import { describe, expect, it } from "vitest";
import { createKeyPool, DEFAULT_COOLDOWN_MS, isPoolExhausted, MAX_COOLDOWN_MS, retryAfterMs, type PoolKey, type PoolExhausted } from "./key-pool.ts";

function fixedClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, monotonic: () => t, advance: (ms: number) => void (t += ms) };
}
const values: Record<string, string> = { A: "value-a", B: "value-b", C: "value-c" };
const name = (picked: PoolKey | PoolExhausted): string => (isPoolExhausted(picked) ? "exhausted" : picked.name);

describe("key pool", () => {
  it("chooses by weight among healthy keys", () => {
    const clock = fixedClock();
    let r = 0;
    const pool = createKeyPool(
      [
        { name: "a", env: "A", weight: 3 },
        { name: "b", env: "B", weight: 1 },
      ],
      (env) => values[env],
      clock,
      () => r,
    );
    const counts: Record<string, number> = { a: 0, b: 0 };
    for (let i = 0; i < 100; i++) {
      r = i / 100;
      const n = name(pool.pick(new Set()));
      counts[n] = (counts[n] ?? 0) + 1;
    }
    expect(counts).toEqual({ a: 75, b: 25 });
  });

  it("cools a key on 429 and 5xx for its retry-after (seconds or HTTP date), capped, and brings it back after", () => {
    const clock = fixedClock();
    const pool = createKeyPool(
      [
        { name: "a", env: "A", weight: 1 },
        { name: "b", env: "B", weight: 1 },
      ],
      (env) => values[env],
      clock,
      () => 0,
    );
    expect(name(pool.pick(new Set()))).toBe("a");
    pool.report("a", 429, "7");
    expect(pool.cooling("a")).toBe(true);
    expect(name(pool.pick(new Set()))).toBe("b");
    clock.advance(6_999);
    expect(name(pool.pick(new Set()))).toBe("b");
    clock.advance(1);
    expect(name(pool.pick(new Set()))).toBe("a");
    pool.report("a", 400, "60");
    expect(pool.cooling("a")).toBe(false);
    pool.report("a", 503, undefined);
    clock.advance(DEFAULT_COOLDOWN_MS - 1);
    expect(pool.cooling("a")).toBe(true);
    clock.advance(1);
    pool.report("a", 429, "99999999");
    clock.advance(MAX_COOLDOWN_MS);
    expect(pool.cooling("a")).toBe(false);
    expect(retryAfterMs(new Date(clock.now() + 5000).toUTCString(), clock.now())).toBe(5000);
    expect(retryAfterMs("soon", clock.now())).toBeUndefined();
  });

  it("cools a key that got no answer at all (refused, reset, timed out) for the default cooldown", () => {
    const clock = fixedClock();
    const pool = createKeyPool(
      [{ name: "a", env: "A", weight: 1 }],
      (env) => values[env],
      clock,
      () => 0,
    );
    pool.reportUnanswered("a");
    expect(name(pool.pick(new Set()))).toBe("exhausted");
    clock.advance(DEFAULT_COOLDOWN_MS - 1);
    expect(pool.cooling("a")).toBe(true);
    clock.advance(1);
    expect(name(pool.pick(new Set()))).toBe("a");
    pool.reportUnanswered("not-a-key");
  });

  it("is exhausted (with the soonest wait) when every key is cooling, tried or at its per-minute limit; never hands out a key without a value", () => {
    const clock = fixedClock();
    const pool = createKeyPool(
      [
        { name: "a", env: "A", weight: 1, requestsPerMinute: 2 },
        { name: "b", env: "B", weight: 1 },
        { name: "none", env: "MISSING", weight: 5 },
      ],
      (env) => values[env],
      clock,
      () => 0,
    );
    expect(pool.names()).toEqual(["a", "b"]);
    pool.report("b", 429, "40");
    expect(name(pool.pick(new Set()))).toBe("a");
    clock.advance(10_000);
    expect(name(pool.pick(new Set()))).toBe("a");
    const limited = pool.pick(new Set());
    expect(isPoolExhausted(limited) && limited.retryAfterSeconds).toBe(30);
    expect(name(pool.pick(new Set(["a"])))).toBe("exhausted");
    clock.advance(50_000);
    expect(name(pool.pick(new Set()))).toBe("a");
  });

  it("says the provider is unreachable only when every key is cooling for want of an answer", () => {
    const clock = fixedClock();
    const pool = createKeyPool(
      [
        { name: "a", env: "A", weight: 1 },
        { name: "b", env: "B", weight: 1, requestsPerMinute: 1 },
      ],
      (env) => values[env],
      clock,
      () => 0,
    );
    pool.reportUnanswered("a");
    pool.reportUnanswered("b");
    const down = pool.pick(new Set());
    expect(isPoolExhausted(down) && down.unreachable).toBe(true);
    // One of them cooling after an answer (a 429): a rate limit, not an outage.
    pool.report("b", 429, "5");
    const limited = pool.pick(new Set());
    expect(isPoolExhausted(limited) && !limited.unreachable).toBe(true);
    // At its per-minute limit while the other got no answer: a rate limit too.
    clock.advance(60_000);
    expect(name(pool.pick(new Set()))).toBe("a");
    pool.reportUnanswered("a");
    expect(name(pool.pick(new Set()))).toBe("b");
    const atLimit = pool.pick(new Set());
    expect(isPoolExhausted(atLimit) && !atLimit.unreachable).toBe(true);
  });
});
