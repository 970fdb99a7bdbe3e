import type { Caller } from "../core/caller.ts";
import type { ProviderDescriptor, JsonObject, RequestShape } from "../providers/index.ts";
import type { LedgerRow } from "../ledger/index.ts";

export interface AdmissionRequest {
  caller: Caller;
  provider: ProviderDescriptor;
  shape: RequestShape;
  /** Parsed JSON body, mutable: a policy may rewrite it (e.g. `store: false` under zero data retention). */
  body: JsonObject | undefined;
  requestId: string;
  /** Path after the provider prefix (e.g. `/v1/files`): zero data retention refuses retaining endpoints. */
  path?: string;
  /** Size of the request body as received, for the budget estimate (saves re-serialising the body). */
  bodyBytes?: number;
}

export interface Admission {
  /** Set when the policy rewrote the body, so the proxy re-serialises it. */
  bodyChanged: boolean;
  /**
   * Routing: the model to call first (an alias resolved) and the models to try next, in
   * order, when an attempt fails with 429/5xx or cannot connect before any byte reached the
   * client. The proxy rewrites the model in the body (or Gemini's path) per attempt.
   */
  route?: { model: string; fallbacks: readonly string[] } | undefined;
  /** Told about every attempt's result (status, or 0 when unreachable): feeds circuit breakers. */
  recordAttempt?(model: string, status: number): void;
  /** Called exactly once with the final ledger row (real usage), to settle reservations. */
  settle(row: LedgerRow): void;
}

/**
 * The governance seam on the hot path: decide before forwarding (throw a GatewayError to
 * deny, with retryAfterSeconds where it applies) and settle after. Must not await the
 * database per request.
 */
export interface ProxyPolicy {
  admit(request: AdmissionRequest): Admission | Promise<Admission>;
}

export const allowAllPolicy: ProxyPolicy = {
  admit: () => ({ bodyChanged: false, settle: () => undefined }),
};
