import { GatewayError } from "../core/errors.ts";
import type { ResponseTap } from "./transport.ts";

/** One admitted upstream request; `release` is idempotent. */
export interface ConcurrencySlot {
  release(): void;
  /** The same tap, releasing the slot when the response ends (however it ends). */
  track(tap: ResponseTap): ResponseTap;
}

/**
 * Fair use of the shared upstream pool: each caller may have at most `limitPerCaller`
 * upstream requests in flight through this process. One caller's held requests (a runaway
 * agent, 1,030 open streams) are refused with 429 past the cap instead of filling the
 * pool and queueing everyone else's. Counted per process (each instance has its own pool).
 */
export class CallerConcurrencyLimiter {
  private readonly inFlight = new Map<string, number>();
  private refusedCount = 0;
  private total = 0;

  constructor(readonly limitPerCaller: number) {
    if (!Number.isInteger(limitPerCaller) || limitPerCaller < 1) throw new Error(`concurrency cap must be a positive integer, got ${limitPerCaller}`);
  }

  /** Takes a slot for the caller, or throws 429 `rate_limited` naming the concurrency cap. */
  acquire(callerId: string): ConcurrencySlot {
    const held = this.inFlight.get(callerId) ?? 0;
    if (held >= this.limitPerCaller) {
      this.refusedCount++;
      throw new GatewayError(
        "rate_limited",
        `Concurrency cap: this caller already has ${held} requests in flight through the gateway (limit ${this.limitPerCaller}, GATEHOUSE_MAX_CONCURRENT_PER_CALLER). Wait for one to finish, or lower the client's parallelism.`,
        { retryAfterSeconds: 1 },
      );
    }
    this.inFlight.set(callerId, held + 1);
    this.total++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.total--;
      const now = (this.inFlight.get(callerId) ?? 1) - 1;
      if (now <= 0) this.inFlight.delete(callerId);
      else this.inFlight.set(callerId, now);
    };
    return {
      release,
      track: (tap) => ({
        onResponse: (status) => tap.onResponse(status),
        onChunk: (chunk) => tap.onChunk(chunk),
        onEnd(outcome, failure) {
          release();
          tap.onEnd(outcome, failure);
        },
      }),
    };
  }

  /** Requests in flight under the cap, all callers. */
  get inFlightTotal(): number {
    return this.total;
  }

  /** Callers with at least one request in flight. */
  get activeCallers(): number {
    return this.inFlight.size;
  }

  /** Callers at their cap right now. */
  get saturatedCallers(): number {
    let n = 0;
    for (const held of this.inFlight.values()) if (held >= this.limitPerCaller) n++;
    return n;
  }

  /** Requests refused by the cap since start. */
  get refused(): number {
    return this.refusedCount;
  }
}
