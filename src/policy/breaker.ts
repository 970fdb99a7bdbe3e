import type { CircuitChange } from "./events.ts";

/**
 * Per-model circuit breaker for routing: after `failureThreshold` consecutive 429/5xx or
 * network failures a model is skipped for `openSeconds`; then one trial request may go
 * (half-open) and its outcome closes or re-opens the circuit.
 */
export type AttemptResult = "success" | "failure" | "neutral";

interface Circuit {
  failures: number;
  openUntil: number;
  trialInFlight: boolean;
  /** When it last went from closed to open; 0 while closed. */
  openedAt: number;
}

/** Told when a circuit opens (closed → open) and when it closes again; re-opening after a failed trial is no change. */
export type CircuitListener = (change: CircuitChange) => void;

export class CircuitBreaker {
  private readonly circuits = new Map<string, Circuit>();

  constructor(
    private readonly settings: () => { failureThreshold: number; openSeconds: number },
    private readonly onChange?: CircuitListener,
  ) {}

  /** True when the model should be skipped now. Claims the half-open trial when the open period is over. */
  isOpen(key: string, now: number): boolean {
    const c = this.circuits.get(key);
    if (!c || c.openUntil === 0) return false;
    if (now < c.openUntil) return true;
    if (c.trialInFlight) return true;
    c.trialInFlight = true;
    return false;
  }

  /** Read-only view for the dashboard and metrics. */
  state(key: string, now: number): "closed" | "open" | "half-open" {
    const c = this.circuits.get(key);
    if (!c || c.openUntil === 0) return "closed";
    return now < c.openUntil ? "open" : "half-open";
  }

  record(key: string, result: AttemptResult, now: number): void {
    if (result === "neutral") {
      const c = this.circuits.get(key);
      if (c) c.trialInFlight = false;
      return;
    }
    if (result === "success") {
      const was = this.circuits.get(key);
      this.circuits.delete(key);
      if (was && was.openUntil !== 0) this.onChange?.({ key, state: "closed", failures: was.failures, openedAt: was.openedAt, openUntil: was.openUntil, now });
      return;
    }
    const c = this.circuits.get(key) ?? { failures: 0, openUntil: 0, trialInFlight: false, openedAt: 0 };
    c.failures++;
    const { failureThreshold, openSeconds } = this.settings();
    const wasOpen = c.openUntil !== 0;
    if (c.trialInFlight || c.failures >= failureThreshold) c.openUntil = now + openSeconds * 1000;
    c.trialInFlight = false;
    this.circuits.set(key, c);
    if (!wasOpen && c.openUntil !== 0) {
      c.openedAt = now;
      this.onChange?.({ key, state: "open", failures: c.failures, openedAt: now, openUntil: c.openUntil, now });
    }
  }
}

/** How an upstream answer counts for the breaker: overload and server faults count, client faults do not. */
export function classifyAttempt(status: number, outcome: string): AttemptResult {
  if (outcome === "not_forwarded" || outcome === "client_aborted") return "neutral";
  if (outcome === "upstream_failed" && status === 0) return "failure";
  if (status === 429 || status >= 500) return "failure";
  if (status >= 200 && status < 400) return outcome === "upstream_failed" ? "failure" : "success";
  return "neutral";
}
