import type { Clock } from "../../core/clock.ts";

interface BreakerState {
  consecutiveFailures: number;
  openUntil: number;
}

/**
 * One circuit per model ref, shared by every specialist of a review: after `threshold`
 * consecutive failures the model is skipped for `cooldownMs`, then tried again (half-open).
 */
export class CircuitBreakers {
  private readonly states = new Map<string, BreakerState>();

  constructor(
    private readonly clock: Clock,
    private readonly threshold: number,
    private readonly cooldownMs: number,
  ) {}

  isOpen(ref: string): boolean {
    const state = this.states.get(ref);
    return state !== undefined && state.openUntil > this.clock.now();
  }

  success(ref: string): void {
    this.states.set(ref, { consecutiveFailures: 0, openUntil: 0 });
  }

  failure(ref: string): void {
    const state = this.states.get(ref) ?? { consecutiveFailures: 0, openUntil: 0 };
    state.consecutiveFailures += 1;
    if (state.consecutiveFailures >= this.threshold) state.openUntil = this.clock.now() + this.cooldownMs;
    this.states.set(ref, state);
  }

  openRefs(): string[] {
    return [...this.states.keys()].filter((ref) => this.isOpen(ref));
  }
}
