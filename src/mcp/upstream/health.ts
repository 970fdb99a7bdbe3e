import { describeUpstreamError } from "./errors.ts";

export interface HealthOptions {
  /** Failures in a row that open the breaker; a timeout opens it at once. */
  failureThreshold?: number;
  /** First open period; doubles on every failed probe up to maxCooldownMs. */
  cooldownMs?: number;
  maxCooldownMs?: number;
  now?: () => number;
}

/** unknown: not contacted yet; degraded: failed, below the threshold; open: refused without asking; probing: one request is testing it. */
export type HealthState = "ok" | "unknown" | "degraded" | "open" | "probing";

export interface HealthSnapshot {
  state: HealthState;
  /** Why the server is not ok: "connection refused", "command not found", "timed out after 3000 ms"… */
  reason?: string;
  /** While open: when the next probe may run (ms since epoch). */
  retryAt?: number;
}

/**
 * One upstream server's health, shared by every connection to it (a hung server is hung
 * for every user): a circuit breaker with a negative cache. After a timeout, or
 * `failureThreshold` other failures in a row, the breaker opens: lists skip the server at
 * once and calls fail fast with the reason, so nobody waits for the same hung upstream
 * twice. When the cool-down ends one request is let through as the probe (half-open);
 * its success closes the breaker, its failure re-opens it for twice as long.
 */
export class ServerHealth {
  private state: HealthState = "unknown";
  private failures = 0;
  private reason: string | undefined;
  private openUntil = 0;
  private cooldown: number;
  /** Lists skip the server until then: it did not answer a list within the bound. */
  private slowUntil = 0;
  /** Late lists still pending: lists skip the server while any is, however long it takes. */
  private slowPending = 0;
  private readonly threshold: number;
  private readonly baseCooldown: number;
  private readonly maxCooldown: number;
  private readonly now: () => number;

  constructor(options: HealthOptions = {}) {
    this.threshold = options.failureThreshold ?? 3;
    this.baseCooldown = options.cooldownMs ?? 5_000;
    this.maxCooldown = options.maxCooldownMs ?? 60_000;
    this.cooldown = this.baseCooldown;
    this.now = options.now ?? Date.now;
  }

  snapshot(): HealthSnapshot {
    if (this.state === "open" || this.slowPending > 0 || this.now() < this.slowUntil) return { state: this.state === "open" ? "open" : "degraded", ...(this.reason ? { reason: this.reason } : {}), retryAt: Math.max(this.openUntil, this.slowUntil) };
    return { state: this.state, ...(this.reason && this.state !== "ok" ? { reason: this.reason } : {}) };
  }

  /**
   * May a request go to the upstream now? Closed: yes. Open before the cool-down ends: no.
   * Open after it: yes for exactly one caller (the probe), no for the rest until it answers.
   */
  admit(): boolean {
    if (this.state === "ok" || this.state === "unknown" || this.state === "degraded") return true;
    if (this.state === "probing") return false;
    if (this.now() < this.openUntil) return false;
    this.state = "probing";
    return true;
  }

  /**
   * The negative cache for lists: true while the breaker refuses, or while a list recently
   * went unanswered within the bound. A list then answers without this server at once
   * instead of waiting for it again.
   */
  skipLists(): boolean {
    if (this.state === "probing") return true;
    if (this.state === "open" && this.now() < this.openUntil) return true;
    return this.slowPending > 0 || this.now() < this.slowUntil;
  }

  /**
   * A list gave up waiting for this server. Its request runs on: until it settles no list
   * waits for the server again (then its outcome decides: success closes, a timeout opens
   * the breaker), and for one cool-down after that.
   */
  markSlow(boundMs: number, pending: Promise<unknown>): void {
    this.slowPending += 1;
    const settled = (): void => {
      this.slowPending -= 1;
      this.slowUntil = Math.max(this.slowUntil, this.now() + this.cooldown);
    };
    pending.then(settled, settled);
    this.slowUntil = this.now() + this.cooldown;
    this.reason = `no answer within ${boundMs} ms`;
    if (this.state === "ok" || this.state === "unknown") this.state = "degraded";
  }

  succeeded(): void {
    this.slowUntil = 0;
    this.state = "ok";
    this.failures = 0;
    this.reason = undefined;
    this.cooldown = this.baseCooldown;
  }

  /** A failure that says nothing about the upstream's health (the caller cancelled, a bad argument). */
  released(): void {
    if (this.state === "probing") this.state = "open";
  }

  failed(err: unknown, kind: "timeout" | "error"): void {
    this.reason = describeUpstreamError(err);
    this.failures += 1;
    const wasProbe = this.state === "probing";
    if (kind === "timeout" || wasProbe || this.failures >= this.threshold) {
      if (wasProbe) this.cooldown = Math.min(this.cooldown * 2, this.maxCooldown);
      this.state = "open";
      this.openUntil = this.now() + this.cooldown;
    } else {
      this.state = "degraded";
    }
  }

  /** The breaker refused: the error a caller sees instead of waiting. */
  refusal(serverId: string): string {
    const wait = Math.max(0, Math.ceil((this.openUntil - this.now()) / 1000));
    return `MCP server "${serverId}" is unavailable (${this.reason ?? "failing"}); the portal retries it in ${wait} s.`;
  }
}
