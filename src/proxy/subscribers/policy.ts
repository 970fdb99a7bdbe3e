import type { Admission } from "../policy.ts";
import type { AttemptResult, RequestEnd, RequestListener, RequestObserver } from "../observer.ts";

/**
 * The policy's side of a request's end: every upstream attempt feeds the circuit breaker
 * (`Admission.recordAttempt`), and the reservation is settled exactly once with the
 * request's final row (`Admission.settle`), whatever way it ended: refused by the
 * concurrency cap after admission, failed upstream, completed, aborted or cut.
 */
export function policySubscriber(): RequestObserver {
  return { begin: () => new AdmissionListener() };
}

class AdmissionListener implements RequestListener {
  private admission: Admission | undefined;

  admitted(admission: Admission): void {
    this.admission = admission;
  }

  attempted(result: AttemptResult): void {
    this.admission?.recordAttempt?.(result.model ?? "unknown", result.status, result.provider?.id);
  }

  ended(end: RequestEnd): void {
    const admission = this.admission;
    this.admission = undefined;
    // An admitted request always ends with a row (its caller is known); settle it at that figure.
    if (admission && end.row) admission.settle(end.row);
  }
}
