import type { Kysely } from "kysely";
import type { Caller } from "../core/caller.ts";
import { describeError } from "../core/app.ts";
import type { Clock } from "../core/clock.ts";
import { LogThrottle } from "../core/log-throttle.ts";
import type { Logger } from "../core/logger.ts";
import type { AlertKind, AlertsConfig } from "../config/policy-schema.ts";
import type { BudgetClaim, CircuitChange, GovernanceEvents } from "../policy/index.ts";
import { newEventId, type AlertEvent, type AlertValue } from "./events.ts";
import { enqueue, type OutboxEntry } from "./outbox.ts";
import type { AlertTimers } from "./sender.ts";
import type { AlertTables } from "./tables.ts";

/** The refusals that alert (request.denied): budget, rate limit, policy. */
export const DENIAL_REASONS = new Set(["budget_exceeded", "rate_limited", "forbidden"]);

export interface Denial {
  reason: string;
  status: number;
  message: string | undefined;
  caller: Caller;
  provider: string;
  model: string | undefined;
}

/** Alerts remembered as sent per process: past this the oldest are forgotten (the store's unique key still holds). */
const MAX_REMEMBERED = 10_000;

/**
 * Turns what governance and the proxy report into outbox rows, off the request path: every
 * method returns at once. An alert is identified by a dedupe key (a budget's period key and
 * limit; a caller's denial reason and window; a model and window); a key seen before by this
 * process costs a map lookup, and a key another request or instance stored first is dropped by
 * the outbox's unique index. So a threshold crossed by many concurrent requests, or a storm of
 * rate-limit refusals, is one alert. Rows are written in batches on the next timer tick; an
 * event is durable once written (a restart after that still delivers it).
 */
export class AlertEmitter implements GovernanceEvents {
  private readonly remembered = new Map<string, true>();
  private queue: OutboxEntry[] = [];
  private flushing: Promise<void> | undefined;
  private scheduled = false;
  private readonly log: LogThrottle;
  /** Events the store did not take (/metrics). */
  unstored = 0;

  constructor(
    private readonly options: {
      db: Kysely<AlertTables>;
      alerts: () => AlertsConfig | undefined;
      clock: Clock;
      logger: Logger;
      timers: AlertTimers;
      /** Called after rows were written (this instance's sender looks at once). */
      onWritten?: () => void;
    },
  ) {
    this.log = new LogThrottle(options.logger, () => options.clock.now());
  }

  /** Whether any webhook takes events of this kind (the denial subscriber skips requests otherwise). */
  wants(kind: AlertKind): boolean {
    return this.options.alerts()?.webhooks.some((w) => w.events.includes(kind)) ?? false;
  }

  budgetThreshold(claim: BudgetClaim & { warnAt: number }, usedUsd: number, caller: Caller, now: number): void {
    const budget = describeBudget(claim.key, caller);
    const pct = Math.floor((usedUsd / claim.limitUsd) * 100);
    this.emit(
      "budget.threshold",
      `threshold|${claim.key}|${claim.warnAt}|${claim.limitUsd}`,
      now,
      `${budget.label} is at ${pct}% of $${claim.limitUsd.toFixed(2)} (soft limit ${Math.round(claim.warnAt * 100)}%); it resets at ${new Date(claim.resetsAt).toISOString()}.`,
      { budget: budget.label, scope: budget.scope, period: budget.period, limit_usd: round(claim.limitUsd), used_usd: round(usedUsd), warn_at: claim.warnAt, resets_at: new Date(claim.resetsAt).toISOString(), ...callerData(caller) },
    );
  }

  circuitChanged(change: CircuitChange): void {
    const config = this.options.alerts();
    if (!config) return;
    const window = Math.floor(change.now / (config.providerWindowSeconds * 1000));
    const [provider = "", ...rest] = change.key.split("/");
    const model = rest.join("/");
    if (change.state === "open") {
      this.emit("provider.down", `provider.down|${change.key}|${window}`, change.now, `${change.key} failed ${change.failures} times in a row; requests skip it (or fall back) until ${new Date(change.openUntil).toISOString()}, then one trial request goes.`, {
        provider,
        model,
        failures: change.failures,
        open_until: new Date(change.openUntil).toISOString(),
      });
    } else {
      const downSeconds = Math.max(0, Math.round((change.now - change.openedAt) / 1000));
      this.emit("provider.recovered", `provider.recovered|${change.key}|${window}`, change.now, `${change.key} answers again (a trial request succeeded after ${downSeconds}s).`, { provider, model, down_seconds: downSeconds });
    }
  }

  denied(denial: Denial, now: number): void {
    const config = this.options.alerts();
    if (!config) return;
    const window = Math.floor(now / (config.denialWindowSeconds * 1000));
    const who = denial.caller.serviceAccount ? `service account ${denial.caller.serviceAccount.name}` : `caller ${denial.caller.id}`;
    const what = denial.reason === "budget_exceeded" ? "over budget" : denial.reason === "rate_limited" ? "rate limited" : "refused by policy";
    this.emit(
      "request.denied",
      `denied|${denial.reason}|${denial.caller.id}|${window}`,
      now,
      `A request of ${who} to ${denial.provider}${denial.model ? `/${denial.model}` : ""} was ${what} (${denial.status}). Further ${denial.reason} denials of this caller in the next ${config.denialWindowSeconds}s are not alerted.`,
      { reason: denial.reason, status: denial.status, message: denial.message ?? null, provider: denial.provider, model: denial.model ?? null, window_seconds: config.denialWindowSeconds, ...callerData(denial.caller) },
    );
  }

  /** Writes what is queued (shutdown, tests). */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.flushing) {
      if (this.flushing) await this.flushing;
      else await this.write();
    }
  }

  private emit(kind: AlertKind, dedupeKey: string, now: number, summary: string, data: Record<string, AlertValue>): void {
    const hooks = this.options.alerts()?.webhooks.filter((w) => w.events.includes(kind));
    if (!hooks || hooks.length === 0) return;
    if (this.remembered.has(dedupeKey)) return;
    this.remember(dedupeKey);
    const event: AlertEvent = { id: newEventId(), type: kind, createdAt: now, summary, data };
    for (const hook of hooks) this.queue.push({ event, target: hook.name, dedupeKey });
    if (!this.scheduled) {
      this.scheduled = true;
      this.options.timers.after(0, () => {
        this.scheduled = false;
        void this.write();
      });
    }
  }

  private write(): Promise<void> {
    this.flushing ??= this.writeQueued().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async writeQueued(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    try {
      await enqueue(this.options.db, batch, this.options.clock.now());
      this.options.onWritten?.();
    } catch (err) {
      // Not stored: forget the keys, so the next occurrence of the same condition tries again.
      for (const entry of batch) this.remembered.delete(entry.dedupeKey);
      this.unstored += batch.length;
      this.log.error({ err: describeError(err), events: batch.length }, "cannot write alerts to the outbox (store unreachable?); they are sent if the condition happens again");
    }
  }

  private remember(key: string): void {
    this.remembered.set(key, true);
    if (this.remembered.size > MAX_REMEMBERED) {
      const oldest = this.remembered.keys().next().value;
      if (oldest !== undefined) this.remembered.delete(oldest);
    }
  }
}

/** A budget described for an operator, from its counter key (`user:<id>[@r<epoch>]:d:<day>`, `group:<name>:m:<month>`). */
function describeBudget(key: string, caller: Caller): { label: string; scope: string; period: string } {
  const match = /^(user|group):(.+?)(?:@r\d+)?:(d|m):([\d-]+)$/.exec(key);
  const kind = match?.[1];
  const name = match?.[2] ?? key;
  const period = match?.[3] === "m" ? "monthly" : "daily";
  const scope = `${kind ?? "user"}:${name}`;
  if (kind === "group") return { label: `group ${name}'s ${period} budget`, scope, period: match?.[4] ?? "" };
  const who = caller.serviceAccount && caller.id === name ? `service account ${caller.serviceAccount.name}` : `caller ${name}`;
  return { label: `${who}'s ${period} budget`, scope, period: match?.[4] ?? "" };
}

/** Who, as the ledger knows them: the anonymous id, groups, team, and a service account's name; never an email. */
function callerData(caller: Caller): Record<string, AlertValue> {
  return { caller_id: caller.id, service_account: caller.serviceAccount?.name ?? null, groups: [...caller.groups], team: caller.team ?? null };
}

function round(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}
