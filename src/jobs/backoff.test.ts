import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.ts";

describe("retry backoff", () => {
  it("doubles per failed attempt, caps, and adds at most the jitter", () => {
    const options = { baseMs: 100, maxMs: 1_000, jitter: 0 };
    expect([1, 2, 3, 4, 5, 60].map((a) => backoffDelay(a, options))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(2, { ...options, jitter: 0.25 }, () => 1)).toBe(250);
    expect(backoffDelay(2, { ...options, jitter: 0.25 }, () => 0)).toBe(200);
  });
});
