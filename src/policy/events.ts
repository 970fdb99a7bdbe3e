import type { Caller } from "../core/caller.ts";
import type { BudgetClaim } from "./counters.ts";

/**
 * What governance reports as it happens, for alerts (src/alerts implements it). Every method
 * is called on the request path and must return at once: an implementation queues, it never
 * awaits the store or the network.
 */
export interface GovernanceEvents {
  /** A settled request left `claim`'s budget at `usedUsd` (settled + in flight), at or past its `warnAt`. */
  budgetThreshold(claim: BudgetClaim & { warnAt: number }, usedUsd: number, caller: Caller, now: number): void;
  /** A model's circuit opened (consecutive upstream failures) or closed again (a trial request succeeded). */
  circuitChanged(change: CircuitChange): void;
}

export interface CircuitChange {
  /** "provider/model". */
  key: string;
  state: "open" | "closed";
  /** Consecutive failures that opened it (open). */
  failures: number;
  /** When it opened (closed: how long it was down). */
  openedAt: number;
  /** Epoch ms until which it skips the model (open). */
  openUntil: number;
  now: number;
}
