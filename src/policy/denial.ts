import { GatewayError } from "../core/errors.ts";
import type { ReserveRefusal } from "./counters.ts";

// Same tolerance as the counters: an exact fit is admitted.
const EPSILON = 1e-9;
/** Retry hint when budget is held by requests in flight that settle when they end (in-memory store). */
const IN_FLIGHT_RETRY_SECONDS = 5;

/**
 * The refusal of a reservation, worded for what caused it. When settled spend alone leaves
 * room for the request, the budget is held by reservations (requests in flight, or of an
 * instance that stopped): the caller is told so, and to retry in seconds (the bound on a
 * stopped instance's reservations), not at the end of the period. Reservations usually
 * settle below their estimate (an upper bound), so the retry often fits.
 */
export function budgetDenial(refusal: ReserveRefusal, estimateUsd: number, now: number): GatewayError {
  const { claim, usedUsd } = refusal;
  const reservedUsd = refusal.reservedUsd ?? 0;
  const settledUsd = Math.max(0, usedUsd - reservedUsd);
  const limit = `$${claim.limitUsd.toFixed(2)}`;
  const cost = `$${estimateUsd.toFixed(4)}`;
  if (reservedUsd > EPSILON && settledUsd + estimateUsd <= claim.limitUsd + EPSILON && settledUsd < claim.limitUsd - EPSILON) {
    const boundSeconds = refusal.reservationBoundMs !== undefined ? Math.ceil(refusal.reservationBoundMs / 1000) : undefined;
    const retryAfterSeconds = Math.max(1, Math.min(boundSeconds ?? IN_FLIGHT_RETRY_SECONDS, Math.ceil((claim.resetsAt - now) / 1000)));
    const stopped = boundSeconds !== undefined ? ` Reservations of a gateway instance that stopped are settled within ${boundSeconds}s (at their recorded cost, or their estimate when none was recorded).` : "";
    return new GatewayError(
      "budget_exceeded",
      `Budget held: ${claim.label} of ${limit} has $${settledUsd.toFixed(2)} spent and $${reservedUsd.toFixed(2)} reserved by requests still in flight; this request may cost up to ${cost}. Reservations become the requests' real cost as they finish.${stopped} Retry in ${retryAfterSeconds}s.`,
      { retryAfterSeconds },
    );
  }
  const retryAfterSeconds = Math.max(1, Math.ceil((claim.resetsAt - now) / 1000));
  return new GatewayError("budget_exceeded", `Budget reached: ${claim.label} of ${limit} has $${Math.max(0, claim.limitUsd - usedUsd).toFixed(2)} left, and this request may cost up to ${cost}. It resets at ${new Date(claim.resetsAt).toISOString()}.`, {
    retryAfterSeconds,
  });
}
