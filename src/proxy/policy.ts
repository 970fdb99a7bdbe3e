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
}

export interface Admission {
  /** Set when the policy rewrote the body, so the proxy re-serialises it. */
  bodyChanged: boolean;
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
