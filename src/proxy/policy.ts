import type { Caller } from "../core/caller.ts";
import type { ProviderDescriptor, JsonObject, RequestShape } from "../providers/index.ts";
import type { LedgerRow } from "../ledger/index.ts";

/** One entry of a routed chain: the provider that is called and the model it is asked for. */
export interface RouteTarget {
  provider: ProviderDescriptor;
  model: string;
}

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
   * `model` and `fallbacks` name the models; `chain` is the same list with the provider each
   * is called on (an entry on another provider of the same wire format: cross-provider fallback);
   * without it every model is on the request's own provider.
   */
  route?: { model: string; fallbacks: readonly string[]; chain?: readonly RouteTarget[] | undefined } | undefined;
  /** Told about every attempt's result (status, or 0 when unreachable) and the provider it went to (default: the request's): feeds circuit breakers. */
  recordAttempt?(model: string, status: number, providerId?: string): void;
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
