import type { Logger } from "../../core/logger.ts";
import { describeError } from "../../core/app.ts";
import type { BudgetClaim, CounterStore, Reservation, ReserveOutcome } from "../../policy/counters.ts";
import type { RateClaim, RateHold, RateLimiterStore, RateOutcome } from "../../policy/rate-limit.ts";
import type { DurableObjectNamespace, DurableObjectStub } from "./bindings.ts";

/** The counters object every isolate of the deployment talks to. */
export const COUNTERS_OBJECT_NAME = "global";

interface SharedReservation extends Reservation {
  readonly rowId: string;
}

/**
 * A stub is an I/O object of the request that created it, and workerd refuses to use it from
 * another request, so each call takes a fresh one (cheap: no network until fetch).
 */
function stubOf(namespace: DurableObjectNamespace): DurableObjectStub {
  return namespace.get(namespace.idFromName(COUNTERS_OBJECT_NAME));
}

async function call<T>(namespace: DurableObjectNamespace, path: string, body: unknown): Promise<T> {
  const res = await stubOf(namespace).fetch(`https://counters${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(`counters object ${path} failed: ${json.error ?? res.status}`);
  return json;
}

/** CounterStore over the counters Durable Object: exact across every isolate and location. */
export class DurableCounterStore implements CounterStore {
  private readonly seen = new Map<string, number>();
  private seq = 1;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly namespace: DurableObjectNamespace,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  async reserve(claims: readonly BudgetClaim[], amountUsd: number): Promise<ReserveOutcome> {
    const result = await call<ReserveOutcome & { rowId?: string; used?: Record<string, number> }>(this.namespace, "/reserve", { claims, amountUsd, now: this.now() });
    if (!result.ok) {
      this.seen.set(result.claim.key, result.usedUsd);
      return { ok: false, claim: result.claim, usedUsd: result.usedUsd };
    }
    for (const [key, value] of Object.entries(result.used ?? {})) this.seen.set(key, value);
    const reservation: SharedReservation = { id: this.seq++, keys: result.reservation.keys, amountUsd, rowId: result.rowId ?? "" };
    return { ok: true, reservation };
  }

  settle(reservation: Reservation, actualUsd: number): Promise<void> {
    const pending = this.settleNow(reservation, actualUsd).finally(() => this.inFlight.delete(pending));
    this.inFlight.add(pending);
    return pending;
  }

  /** Resolves when every settle started so far is done: the worker waits on it with waitUntil. */
  async idle(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  private async settleNow(reservation: Reservation, actualUsd: number): Promise<void> {
    const rowId = (reservation as Partial<SharedReservation>).rowId ?? "";
    try {
      await call(this.namespace, "/settle", { rowId, keys: reservation.keys, actualUsd, now: this.now() });
      for (const key of reservation.keys) this.seen.set(key, Math.max(0, (this.seen.get(key) ?? 0) - reservation.amountUsd + actualUsd));
    } catch (err) {
      this.logger.error({ err: describeError(err) }, "budget settle failed; the reservation expires instead");
    }
  }

  async reconcile(totals: ReadonlyMap<string, number>): Promise<void> {
    await call(this.namespace, "/reconcile", { totals: [...totals] });
  }

  used(key: string): number {
    return this.seen.get(key) ?? 0;
  }

  prune(isLive: (key: string) => boolean): void {
    for (const key of this.seen.keys()) if (!isLive(key)) this.seen.delete(key);
  }
}

/**
 * The sliding-window rate limiter over the same object: every isolate takes from the same
 * windows. Corrections and releases run after `take` returned; `idle()` lets the worker keep
 * them alive with waitUntil.
 */
export class DurableRateLimiter implements RateLimiterStore {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly namespace: DurableObjectNamespace,
    private readonly logger: Logger,
  ) {}

  take(claims: readonly RateClaim[], now: number): Promise<RateOutcome> {
    return call<RateOutcome>(this.namespace, "/rate/take", { claims, now });
  }

  adjust(hold: RateHold, actual: number): void {
    this.track(this.correct(hold, actual - hold.amount));
  }

  release(holds: readonly RateHold[]): void {
    for (const hold of holds) this.track(this.correct(hold, -hold.amount));
  }

  prune(now: number): void {
    this.track(
      call(this.namespace, "/prune", { now }).then(
        () => undefined,
        (err: unknown) => this.logger.warn({ err: describeError(err) }, "pruning the counters object failed"),
      ),
    );
  }

  /** Resolves when every correction started so far is done. */
  async idle(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  private track(pending: Promise<void>): void {
    const tracked = pending.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private async correct(hold: RateHold, delta: number): Promise<void> {
    if (delta === 0) return;
    try {
      await call(this.namespace, "/rate/correct", { key: hold.key, window: hold.window, delta });
    } catch (err) {
      this.logger.warn({ err: describeError(err) }, "rate-limit correction failed; the window keeps the estimate");
    }
  }
}
