import type { Kysely } from "kysely";
import { describeError } from "../core/app.ts";
import type { Clock } from "../core/clock.ts";
import type { SecretSource } from "../core/deps.ts";
import { LogThrottle } from "../core/log-throttle.ts";
import type { Logger } from "../core/logger.ts";
import type { AlertsConfig, AlertWebhook } from "../config/policy-schema.ts";
import { backoffDelay } from "../jobs/index.ts";
import { bodyFor } from "./formats.ts";
import { claimDue, settleDelivery, type ClaimedDelivery, type DeliveryOutcome } from "./outbox.ts";
import { SIGNATURE_HEADER, signWebhook } from "./signature.ts";
import type { AlertTables } from "./tables.ts";

/** Runs `fn` once after `ms`; returns a cancel (the gateway's Timers, structurally). */
export interface AlertTimers {
  after(ms: number, fn: () => void): () => void;
}

export interface AlertSenderOptions {
  db: Kysely<AlertTables>;
  /** Re-read at every attempt: a reloaded webhook list applies to the next delivery. */
  alerts: () => AlertsConfig | undefined;
  secrets: SecretSource;
  clock: Clock;
  logger: Logger;
  timers: AlertTimers;
  /** This instance's name on the rows it leases. */
  owner: string;
  /** How often to look for due rows written by other instances (and retries); default 1 s. */
  pollMs?: number;
  fetchFn?: typeof fetch;
  random?: () => number;
}

/** Attempts in flight per instance, and per webhook (a receiver that hangs holds its own slots only, never another webhook's). */
const MAX_IN_FLIGHT = 16;
const MAX_IN_FLIGHT_PER_TARGET = 4;
/** The lease outlives an attempt by this much, so a slow attempt is never sent twice at once. */
const LEASE_MARGIN_MS = 30_000;
/** Statuses worth another attempt: the receiver is overloaded or failing, not refusing. */
const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * Delivers the outbox in the background: never on a request's path. Each round claims due
 * rows under a lease (compare-and-set, so of several instances one sends each row), POSTs each
 * to its webhook with the event id as `idempotency-key`, and marks the row delivered (2xx),
 * pending again with exponential backoff and jitter (network error, timeout, 408/429/5xx,
 * honouring retry-after), or failed (another 3xx/4xx, or `maxAttempts` used up: recorded with
 * the last error). A sender that dies mid-attempt leaves its row leased; another takes it over
 * when the lease expires, and the receiver drops the repeat by its idempotency key.
 */
export class AlertSender {
  private cancel: (() => void) | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  /** The earliest retry this instance scheduled and has not looked at yet. */
  private retryAt = Number.POSITIVE_INFINITY;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly inFlight = new Set<AbortController>();
  /** Deliveries running, by webhook name. */
  private readonly sending = new Map<string, number>();
  private readonly deliveries = new Set<Promise<void>>();
  private readonly log: LogThrottle;
  /** What this instance's attempts ended as (/metrics). */
  private readonly counts = { delivered: 0, retried: 0, failed: 0 };
  private readonly pollMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: AlertSenderOptions) {
    this.log = new LogThrottle(options.logger, () => options.clock.now());
    this.pollMs = options.pollMs ?? 1_000;
    this.fetchFn = options.fetchFn ?? ((input, init) => fetch(input, init));
  }

  start(): void {
    this.schedule(0);
  }

  /** Attempts of this instance: delivered, to be retried, given up (failed or dropped). */
  stats(): Readonly<{ delivered: number; retried: number; failed: number }> {
    return { ...this.counts };
  }

  /** Something was just enqueued here: look now rather than at the next poll. */
  nudge(): void {
    this.schedule(0);
  }

  /** Stops polling; attempts in flight are aborted and their rows made due again at once (the next start sends them). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel?.();
    for (const controller of this.inFlight) controller.abort(new Error("the gateway is shutting down"));
    await this.running;
    await Promise.all([...this.deliveries]);
  }

  /** One round now (tests); joins a round in progress. */
  async runOnce(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    const at = this.options.clock.now() + ms;
    if (this.cancel && this.wakeAt <= at) return;
    this.cancel?.();
    this.wakeAt = at;
    this.cancel = this.options.timers.after(ms, () => {
      this.cancel = undefined;
      this.wakeAt = Number.POSITIVE_INFINITY;
      void this.runOnce().finally(() => this.schedule(Math.min(this.pollMs, Math.max(0, this.retryAt - this.options.clock.now()))));
    });
  }

  private async round(): Promise<void> {
    do {
      this.again = false;
      const config = this.options.alerts();
      if (!config) return;
      const now = this.options.clock.now();
      if (this.retryAt <= now) this.retryAt = Number.POSITIVE_INFINITY;
      const room = MAX_IN_FLIGHT - this.deliveries.size;
      if (room <= 0) return;
      const busy = [...this.sending].filter(([, n]) => n >= MAX_IN_FLIGHT_PER_TARGET).map(([target]) => target);
      let claimed: ClaimedDelivery[];
      try {
        claimed = await claimDue(this.options.db, this.options.owner, now, config.delivery.timeoutMs + LEASE_MARGIN_MS, room, busy);
      } catch (err) {
        this.log.warn({ err: describeError(err) }, "cannot read the alert outbox; retrying at the next poll");
        return;
      }
      for (const claim of claimed) {
        this.sending.set(claim.target, (this.sending.get(claim.target) ?? 0) + 1);
        const delivery: Promise<void> = this.deliver(claim, config).finally(() => {
          this.deliveries.delete(delivery);
          const left = (this.sending.get(claim.target) ?? 1) - 1;
          if (left > 0) this.sending.set(claim.target, left);
          else this.sending.delete(claim.target);
          // A slot is free: rows that waited for it are claimed now, not at the next poll.
          this.schedule(0);
        });
        this.deliveries.add(delivery);
      }
      if (claimed.length === room) this.again = true;
    } while (this.again && !this.stopped);
  }

  private async deliver(claim: ClaimedDelivery, config: AlertsConfig): Promise<void> {
    const hook = config.webhooks.find((w) => w.name === claim.target);
    const outcome: DeliveryOutcome = hook ? await this.attempt(claim, hook, config) : { status: "dropped", error: `webhook "${claim.target}" is no longer under policy.alerts.webhooks`, httpStatus: null };
    const now = this.options.clock.now();
    try {
      const settled = await settleDelivery(this.options.db, claim.id, this.options.owner, now, outcome);
      if (!settled) this.log.warn({ target: claim.target, event: claim.event.id }, "alert delivery outcome not recorded: another instance took the row over (its lease had expired)");
    } catch (err) {
      // The lease expires and the row is tried again; the receiver drops a repeat by its idempotency key.
      this.log.error({ err: describeError(err), target: claim.target, event: claim.event.id }, "cannot record an alert delivery in the outbox; it is retried when its lease expires");
      return;
    }
    this.counts[outcome.status === "pending" ? "retried" : outcome.status === "delivered" ? "delivered" : "failed"]++;
    if (outcome.status === "pending") {
      this.retryAt = Math.min(this.retryAt, outcome.notBefore);
      this.schedule(Math.max(0, outcome.notBefore - now));
    }
    if (outcome.status === "failed" || outcome.status === "dropped") {
      this.options.logger.error({ target: claim.target, event: claim.event.id, type: claim.event.type, attempts: claim.attempt, error: outcome.error }, "alert given up; it stays in the outbox as failed");
    } else if (outcome.status === "delivered") {
      this.options.logger.info({ target: claim.target, event: claim.event.id, type: claim.event.type, attempts: claim.attempt }, "alert delivered");
    }
  }

  private async attempt(claim: ClaimedDelivery, hook: AlertWebhook, config: AlertsConfig): Promise<DeliveryOutcome> {
    const { delivery } = config;
    const retry = (error: string, httpStatus: number | null, retryAfterMs = 0): DeliveryOutcome => {
      if (claim.attempt >= delivery.maxAttempts) return { status: "failed", error: `gave up after ${claim.attempt} attempts: ${error}`, httpStatus };
      const backoff = backoffDelay(claim.attempt, { baseMs: delivery.baseDelayMs, maxMs: delivery.maxDelayMs, jitter: 0.25 }, this.options.random);
      return { status: "pending", error, httpStatus, notBefore: this.options.clock.now() + Math.min(delivery.maxDelayMs, Math.max(backoff, retryAfterMs)) };
    };
    const url = hook.url ?? (hook.urlEnv !== undefined ? this.options.secrets.get(hook.urlEnv) : undefined);
    if (!url) return retry(`the URL variable ${hook.urlEnv ?? "(none)"} is not set`, null);
    const body = bodyFor(hook.format, claim.event);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "gatehouse-alerts",
      "idempotency-key": claim.event.id,
      "x-gatehouse-event-id": claim.event.id,
      "x-gatehouse-event": claim.event.type,
      "x-gatehouse-delivery-attempt": String(claim.attempt),
    };
    if (hook.format === "signed") {
      const secret = hook.secretEnv !== undefined ? this.options.secrets.get(hook.secretEnv) : undefined;
      if (!secret) return retry(`the signing secret variable ${hook.secretEnv ?? "(none)"} is not set`, null);
      // Signed at each attempt: a retry after a long backoff still falls in the receiver's replay window.
      headers[SIGNATURE_HEADER] = await signWebhook(secret, body, this.options.clock.now());
    }
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timer = this.options.timers.after(delivery.timeoutMs, () => controller.abort(new Error(`timed out after ${delivery.timeoutMs} ms`)));
    try {
      // No redirects: a webhook that moved is a config error, and a redirect must not carry the signature elsewhere.
      const res = await this.fetchFn(url, { method: "POST", headers, body, redirect: "manual", signal: controller.signal });
      // The answer's body is not read; a cancel that fails (the socket is gone) changes nothing about the outcome.
      await res.body?.cancel().catch((err: unknown) => this.options.logger.debug({ err: describeError(err) }, "alert response body cancel failed"));
      if (res.status >= 200 && res.status < 300) return { status: "delivered", httpStatus: res.status };
      if (RETRYABLE.has(res.status)) return retry(`HTTP ${res.status}`, res.status, retryAfterMs(res.headers.get("retry-after")));
      return { status: "failed", error: `the receiver refused it: HTTP ${res.status} (not retried; check the webhook's URL and secret)`, httpStatus: res.status };
    } catch (err) {
      if (this.stopped) return { status: "pending", error: "the gateway stopped during the attempt", httpStatus: null, notBefore: this.options.clock.now() };
      return retry(fetchFailure(err, controller.signal), null);
    } finally {
      timer();
      this.inFlight.delete(controller);
    }
  }
}

function retryAfterMs(header: string | null): number {
  if (!header) return 0;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
}

/** Why fetch failed, without the URL (a Slack webhook's URL is its secret). */
function fetchFailure(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) return signal.reason instanceof Error ? signal.reason.message : "aborted";
  const cause = err instanceof Error && err.cause && typeof err.cause === "object" && "code" in err.cause ? String(err.cause.code) : undefined;
  return cause ? `connection failed (${cause})` : `request failed (${describeError(err).name})`;
}
