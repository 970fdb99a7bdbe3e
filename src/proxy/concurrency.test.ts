import { describe, expect, it } from "vitest";
import { GatewayError } from "../core/errors.ts";
import { CallerConcurrencyLimiter } from "./concurrency.ts";
import type { ResponseTap } from "./transport.ts";

const noopTap = (): ResponseTap & { ended: number } => {
  const tap = { ended: 0, onResponse: () => undefined, onChunk: () => undefined, onEnd: () => void tap.ended++ };
  return tap;
};

describe("CallerConcurrencyLimiter", () => {
  it("refuses a caller past its cap with 429 naming the cap, and never another caller", () => {
    const limiter = new CallerConcurrencyLimiter(3);
    const held = [limiter.acquire("a"), limiter.acquire("a"), limiter.acquire("a")];
    let refused: unknown;
    try {
      limiter.acquire("a");
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(GatewayError);
    expect((refused as GatewayError).status).toBe(429);
    expect((refused as GatewayError).message).toContain("Concurrency cap");
    expect((refused as GatewayError).retryAfterSeconds).toBe(1);
    // Another caller is unaffected by a's saturation.
    const other = limiter.acquire("b");
    expect(limiter.inFlightTotal).toBe(4);
    expect(limiter.saturatedCallers).toBe(1);
    expect(limiter.refused).toBe(1);
    other.release();
    for (const slot of held) slot.release();
    expect(limiter.inFlightTotal).toBe(0);
    expect(limiter.activeCallers).toBe(0);
  });

  it("a released slot is free again; releasing twice or ending twice frees only one", () => {
    const limiter = new CallerConcurrencyLimiter(1);
    const slot = limiter.acquire("a");
    const tap = noopTap();
    const tracked = slot.track(tap);
    tracked.onEnd("completed");
    slot.release();
    tracked.onEnd("completed");
    expect(tap.ended).toBe(2);
    expect(limiter.inFlightTotal).toBe(0);
    const again = limiter.acquire("a");
    expect(() => limiter.acquire("a")).toThrow(GatewayError);
    again.release();
    expect(limiter.inFlightTotal).toBe(0);
  });
});
