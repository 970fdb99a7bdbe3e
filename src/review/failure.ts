import type { ModelAttempt } from "./model/router.ts";

/**
 * A review that could not be performed: a reviewer, the judge or the coordinator failed, a
 * model answered something unreadable, or the gateway was unreachable. It is thrown instead
 * of returned, so no caller can read a verdict (let alone an approval) from a run that did
 * not look at the whole change.
 */
export class ReviewNotPerformedError extends Error {
  constructor(
    readonly reasons: readonly string[],
    readonly attempts: readonly ModelAttempt[] = [],
  ) {
    super(`no review was performed: ${reasons.join("; ")}`);
    this.name = "ReviewNotPerformedError";
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
