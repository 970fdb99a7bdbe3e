import type { Clock } from "../core/clock.ts";

/** One configured key of a pool: its name (logged, metered, in the ledger), never its value outside the upstream header. */
export interface PoolKeySpec {
  name: string;
  /** The env var (or secrets-file key) holding the value. */
  env: string;
  weight: number;
  /** Requests per minute this key may start; over it the key is skipped like a cooling one. */
  requestsPerMinute?: number | undefined;
}

export interface PoolKey {
  name: string;
  value: string;
}

/** Why no key could be had: every key is cooling or at its rate limit; retry after this many seconds. */
export interface PoolExhausted {
  exhausted: true;
  retryAfterSeconds: number;
  /**
   * Every key is cooling because the provider gave it no answer at all (refused, reset, no
   * headers in time): the provider is unreachable, not rate limiting, and the refusal says so.
   */
  unreachable: boolean;
}

/** Default cooldown when a 429 or 5xx carries no usable retry-after. */
export const DEFAULT_COOLDOWN_MS = 30_000;
/** A provider's retry-after is honoured up to this; a longer one is capped so a bad header cannot bench a key for days. */
export const MAX_COOLDOWN_MS = 15 * 60_000;

interface KeyState {
  spec: PoolKeySpec;
  value: string;
  cooldownUntil: number;
  /** What the current cooldown follows: an answer (429/5xx) or no answer at all. */
  cooledBy: "answer" | "unanswered";
  /** Start times (epoch ms) within the last minute, for the per-key rate limit. */
  starts: number[];
}

/**
 * Several keys for one provider: weighted choice among the keys that are neither cooling down
 * (after a 429 or 5xx, for the provider's retry-after; after no answer at all, for the default
 * cooldown) nor at their per-minute limit. A
 * cooled-down key comes back by itself once its cooldown has passed. State is per process.
 */
export interface KeyPool {
  /** A key for the next attempt, never one in `exclude` (already tried for this request). */
  pick(exclude: ReadonlySet<string>): PoolKey | PoolExhausted;
  /** The upstream answered this key with a status: 429 and 5xx cool it down. */
  report(name: string, status: number, retryAfter: string | undefined): void;
  /** The upstream gave this key no answer at all (connection refused or reset, no headers in time): it cools for the default cooldown. */
  reportUnanswered(name: string): void;
  names(): readonly string[];
  /** Whether the key is cooling down now (for /metrics). */
  cooling(name: string): boolean;
}

export function createKeyPool(specs: readonly PoolKeySpec[], valueOf: (env: string) => string | undefined, clock: Clock, random: () => number = Math.random): KeyPool {
  const states: KeyState[] = [];
  for (const spec of specs) {
    const value = valueOf(spec.env);
    // A key without a value is left out; the pool refuses when none is left (configuredRoute says which env to set).
    if (value) states.push({ spec, value, cooldownUntil: 0, cooledBy: "answer", starts: [] });
  }
  const byName = new Map(states.map((s) => [s.spec.name, s]));
  return {
    pick(exclude) {
      const now = clock.now();
      let soonest = Number.POSITIVE_INFINITY;
      let blockedByAnswers = false;
      const ready: KeyState[] = [];
      for (const state of states) {
        if (exclude.has(state.spec.name)) continue;
        state.starts = state.starts.filter((t) => t > now - 60_000);
        const limit = state.spec.requestsPerMinute;
        const limitedUntil = limit !== undefined && state.starts.length >= limit ? (state.starts[0] ?? now) + 60_000 : 0;
        const availableAt = Math.max(state.cooldownUntil, limitedUntil);
        if (availableAt <= now) ready.push(state);
        else {
          soonest = Math.min(soonest, availableAt);
          if (limitedUntil > now || state.cooledBy === "answer") blockedByAnswers = true;
        }
      }
      if (ready.length === 0) {
        const waitMs = Number.isFinite(soonest) ? soonest - now : DEFAULT_COOLDOWN_MS;
        return { exhausted: true, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)), unreachable: Number.isFinite(soonest) && !blockedByAnswers };
      }
      const total = ready.reduce((sum, s) => sum + s.spec.weight, 0);
      let ticket = random() * total;
      let chosen = ready[ready.length - 1] as KeyState;
      for (const state of ready) {
        ticket -= state.spec.weight;
        if (ticket < 0) {
          chosen = state;
          break;
        }
      }
      chosen.starts.push(now);
      return { name: chosen.spec.name, value: chosen.value };
    },
    report(name, status, retryAfter) {
      const state = byName.get(name);
      if (!state || !(status === 429 || status === 529 || (status >= 500 && status <= 599))) return;
      const now = clock.now();
      state.cooldownUntil = now + Math.min(MAX_COOLDOWN_MS, retryAfterMs(retryAfter, now) ?? DEFAULT_COOLDOWN_MS);
      state.cooledBy = "answer";
    },
    reportUnanswered(name) {
      const state = byName.get(name);
      if (!state) return;
      state.cooldownUntil = clock.now() + DEFAULT_COOLDOWN_MS;
      state.cooledBy = "unanswered";
    },
    names: () => states.map((s) => s.spec.name),
    cooling: (name) => (byName.get(name)?.cooldownUntil ?? 0) > clock.now(),
  };
}

/** `retry-after` as delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export function isPoolExhausted(value: PoolKey | PoolExhausted): value is PoolExhausted {
  return (value as PoolExhausted).exhausted === true;
}
