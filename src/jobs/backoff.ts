/** Retry delays: base · 2^(attempt−1), capped; jitter (0–25 %) keeps workers from retrying in step. */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** 0..1, the random spread added; 0 for reproducible tests. */
  jitter: number;
}

export const defaultBackoff: BackoffOptions = { baseMs: 1_000, maxMs: 60_000, jitter: 0.25 };

/** Delay before the attempt after `failedAttempt` (1-based) failed. */
export function backoffDelay(failedAttempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponent = Math.max(0, failedAttempt - 1);
  const raw = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(exponent, 30));
  return Math.round(raw * (1 + options.jitter * random()));
}
