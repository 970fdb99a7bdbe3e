import { describeError } from "../core/app.ts";
import { GatewayError } from "../core/errors.ts";
import { LogThrottle } from "../core/log-throttle.ts";
import type { Logger } from "../core/logger.ts";
import type { StoreHealth } from "../store/health.ts";
import type { StoreOutagePolicy } from "../config/policy-schema.ts";
import type { BudgetClaim, CounterStore, Reservation, ReserveOutcome } from "./counters.ts";
import { SlidingWindowRateLimiter, type RateClaim, type RateHold, type RateLimiterStore, type RateOutcome } from "./rate-limit.ts";

export const defaultStoreOutagePolicy: StoreOutagePolicy = { mode: "closed", retryAfterSeconds: 5, openAllowanceUsd: 1 };

export interface OutageOptions {
  health: StoreHealth;
  /** Re-read on every decision: a config reload applies to the next request. */
  policy: () => StoreOutagePolicy;
  logger: Logger;
}

/** The 503 of a request the gateway cannot decide because its store is down (provider's shape, with retry-after). */
export function storeUnavailable(what: string, retryAfterSeconds: number, detail = ""): GatewayError {
  return new GatewayError("store_unavailable", `The gateway cannot reach its store to check ${what}, so it refuses rather than let the request through unchecked.${detail} Retry in ${retryAfterSeconds}s.`, { retryAfterSeconds });
}

const EPSILON = 1e-9;

interface LocalReservation extends Reservation {
  readonly local: true;
  readonly scope: string;
}

/**
 * A shared budget store with a stated behaviour while it cannot be reached
 * (`policy.storeOutage`):
 * - closed (default): every request under a budget gets a 503 in its provider's shape with
 *   `retry-after`. Nothing is spent that was not checked.
 * - open: a user may spend up to `openAllowanceUsd` on this instance during the outage
 *   (counted from each request's estimate, then its real cost), and never past what this
 *   instance last saw of their budgets. The real costs are added to the shared counters once
 *   the store is back, so the spend is reconciled; the allowance starts over at the next outage.
 * While the store is down it is tried at most once per probe interval (StoreHealth), so
 * requests fail fast instead of waiting on a dead pool's connect timeout.
 */
export class OutageAwareCounters implements CounterStore {
  private readonly log: LogThrottle;
  /** Outage spend per user scope (estimates of open reservations + real cost of settled ones). */
  private readonly allowance = new Map<string, number>();
  /** Outage spend per counter key, on top of what the shared store last said. */
  private readonly localUsed = new Map<string, number>();
  private nextLocalId = -1;

  constructor(
    private readonly inner: CounterStore,
    private readonly options: OutageOptions,
  ) {
    this.log = new LogThrottle(options.logger);
    options.health.onChange((up) => {
      if (up) {
        // The outage is over: its spend is (being) settled into the shared counters.
        this.allowance.clear();
        this.localUsed.clear();
      }
    });
  }

  async reserve(claims: readonly BudgetClaim[], amountUsd: number, requestId?: string): Promise<ReserveOutcome> {
    const { health } = this.options;
    let cause = health.reason;
    if (health.shouldTry()) {
      try {
        const outcome = await this.inner.reserve(claims, amountUsd, requestId);
        health.succeeded();
        return outcome;
      } catch (err) {
        if (err instanceof GatewayError) throw err;
        health.failed(err);
        cause = describeError(err).message;
        this.log.error({ err: describeError(err) }, "budget store unreachable; applying policy.storeOutage");
      }
    }
    return this.whileUnavailable(claims, amountUsd, cause);
  }

  settle(reservation: Reservation, actualUsd: number): void | Promise<void> {
    const local = reservation as Partial<LocalReservation>;
    if (local.local && local.scope !== undefined) {
      this.addLocal(local.scope, reservation.keys, actualUsd - reservation.amountUsd);
      // Reconciled: the real cost goes to the shared counters (a shared store retries it until the store takes it).
      if (actualUsd > 0) return this.inner.settle({ id: reservation.id, keys: reservation.keys, amountUsd: 0 }, actualUsd);
      return;
    }
    return this.inner.settle(reservation, actualUsd);
  }

  reconcile(totals: ReadonlyMap<string, number>): void | Promise<void> {
    return this.inner.reconcile(totals);
  }

  used(key: string): number {
    return this.inner.used(key) + (this.localUsed.get(key) ?? 0);
  }

  prune(isLive: (key: string) => boolean): void {
    this.inner.prune(isLive);
  }

  private whileUnavailable(claims: readonly BudgetClaim[], amountUsd: number, cause: string): ReserveOutcome {
    const policy = this.options.policy();
    if (policy.mode === "closed") throw storeUnavailable("your budget", policy.retryAfterSeconds);
    const scope = userScope(claims);
    const spent = this.allowance.get(scope) ?? 0;
    if (spent + amountUsd > policy.openAllowanceUsd + EPSILON) {
      throw storeUnavailable("your budget", policy.retryAfterSeconds, ` Your allowance while it is down ($${policy.openAllowanceUsd.toFixed(2)}) is used up.`);
    }
    for (const claim of claims) {
      const used = this.used(claim.key);
      if (used >= claim.limitUsd - EPSILON || used + amountUsd > claim.limitUsd + EPSILON) return { ok: false, claim, usedUsd: used };
    }
    this.addLocal(
      scope,
      claims.map((c) => c.key),
      amountUsd,
    );
    this.log.warn({ cause }, "budget store unreachable; admitting within the outage allowance (policy.storeOutage.mode: open)");
    const reservation: LocalReservation = { id: this.nextLocalId--, keys: claims.map((c) => c.key), amountUsd, local: true, scope };
    return { ok: true, reservation };
  }

  private addLocal(scope: string, keys: readonly string[], deltaUsd: number): void {
    this.allowance.set(scope, Math.max(0, (this.allowance.get(scope) ?? 0) + deltaUsd));
    for (const key of keys) this.localUsed.set(key, Math.max(0, (this.localUsed.get(key) ?? 0) + deltaUsd));
  }
}

/**
 * A shared rate limiter with the same outage behaviour: closed refuses with a 503; open
 * counts in this instance's memory (each instance applies the limits on its own while the
 * store is down, so N instances may admit up to N times a limit).
 */
export class OutageAwareRates implements RateLimiterStore {
  private readonly local = new SlidingWindowRateLimiter();
  private readonly localHolds = new WeakSet<RateHold>();
  private readonly log: LogThrottle;

  constructor(
    private readonly inner: RateLimiterStore,
    private readonly options: OutageOptions,
  ) {
    this.log = new LogThrottle(options.logger);
  }

  async take(claims: readonly RateClaim[], now: number): Promise<RateOutcome> {
    const { health } = this.options;
    if (health.shouldTry()) {
      try {
        const outcome = await this.inner.take(claims, now);
        health.succeeded();
        return outcome;
      } catch (err) {
        if (err instanceof GatewayError) throw err;
        health.failed(err);
        this.log.error({ err: describeError(err) }, "rate-limit store unreachable; applying policy.storeOutage");
      }
    }
    const policy = this.options.policy();
    if (policy.mode === "closed") throw storeUnavailable("your rate limits", policy.retryAfterSeconds);
    const outcome = this.local.take(claims, now);
    if (outcome.ok) for (const hold of outcome.holds) this.localHolds.add(hold);
    return outcome;
  }

  adjust(hold: RateHold, actual: number): void {
    if (this.localHolds.has(hold)) this.local.adjust(hold, actual);
    else this.inner.adjust(hold, actual);
  }

  release(holds: readonly RateHold[]): void {
    this.local.release(holds.filter((h) => this.localHolds.has(h)));
    this.inner.release(holds.filter((h) => !this.localHolds.has(h)));
  }

  prune(now: number): void {
    this.local.prune(now);
    this.inner.prune(now);
  }
}

/** `user:<id>` of the claims (every request under a budget has one unless only group budgets apply). */
function userScope(claims: readonly BudgetClaim[]): string {
  for (const claim of claims) if (claim.key.startsWith("user:")) return claim.key.slice(0, claim.key.indexOf(":", 5));
  return claims[0]?.key.split(":").slice(0, 2).join(":") ?? "none";
}
