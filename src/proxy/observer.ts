import type { Caller } from "../core/caller.ts";
import type { GatewayError } from "../core/errors.ts";
import type { LedgerRow } from "../ledger/index.ts";
import type { ProviderDescriptor, RequestShape } from "../providers/index.ts";
import type { StreamOutcome } from "../store/index.ts";
import type { Admission } from "./policy.ts";

/**
 * The one seam through which the proxy reports each request's life. The ledger, the budget
 * settle, the circuit breaker, `/metrics` and tracing are subscribers, wired in the
 * composition root; the handler knows none of them. `begin` is called once per request (and
 * once per `response.create` on a Responses WebSocket); every request then gets exactly one
 * `ended`, whatever way it ended — refused before authentication included.
 */
export interface RequestObserver {
  /** A request reached a provider route. Returns this request's listener, or undefined to ignore it. */
  begin(request: RequestStart): RequestListener | undefined;
}

export interface RequestStart {
  requestId: string;
  provider: ProviderDescriptor;
  method: string;
  /** Epoch ms when the request arrived. */
  ts: number;
  /** Monotonic ms when the request arrived, for durations. */
  startedAt: number;
  /** The client's W3C trace context, when it sent one (`traceparent`, `tracestate`). */
  traceparent?: string | undefined;
  tracestate?: string | undefined;
}

/** One request's events, in this order; every method but `ended` is optional and may be skipped. */
export interface RequestListener {
  /** Authentication succeeded: who sent it. */
  identified?(caller: Caller): void;
  /** The target matched a declared endpoint and its body was read: what it is. */
  classified?(shape: RequestShape): void;
  /** Policy admitted it (route, reservation); `settle` is the budget subscriber's to call. */
  admitted?(admission: Admission): void;
  /**
   * Headers this subscriber adds to the upstream request of an attempt (1-based), e.g. the
   * gateway's `traceparent`. Called just before each attempt is forwarded.
   */
  upstreamHeaders?(attempt: number, headers: Record<string, string>): void;
  /** An upstream attempt's answer: its status, or 0 when it could not be reached. */
  attempted?(attempt: AttemptResult): void;
  /** The first response byte went to the client. */
  firstByte?(ttfbMs: number): void;
  /** The request is over: exactly once per request. */
  ended(end: RequestEnd): void;
}

export interface AttemptResult {
  /** 1-based. */
  attempt: number;
  model: string | undefined;
  status: number;
  /** The upstream's host (never its userinfo or path). */
  serverAddress: string | undefined;
  /** Whether the next model is tried (fallback routing) instead of answering the client. */
  retried: boolean;
}

export interface RequestEnd {
  outcome: StreamOutcome;
  /** Status the client saw (the gateway's own on a refusal); 0 when none was sent. */
  status: number;
  /** Why it was refused or failed (`unauthorized`, `forbidden`, `upstream_502`, …); null when it succeeded. */
  errorCode: string | null;
  /** Set when the gateway refused or failed the request itself. */
  error?: GatewayError | undefined;
  /**
   * The request's ledger row: usage, cost, timings, attempts. Undefined only when nobody
   * is known to charge it to (authentication failed, or it was refused before it).
   */
  row: LedgerRow | undefined;
}

/** One observer from several, in order; a request nobody listens to costs one call per observer. */
export function combineObservers(observers: readonly RequestObserver[]): RequestObserver {
  if (observers.length === 1) return observers[0]!;
  return {
    begin(request) {
      const listeners: RequestListener[] = [];
      for (const observer of observers) {
        const listener = observer.begin(request);
        if (listener) listeners.push(listener);
      }
      if (listeners.length <= 1) return listeners[0];
      return {
        identified: (caller) => listeners.forEach((l) => l.identified?.(caller)),
        classified: (shape) => listeners.forEach((l) => l.classified?.(shape)),
        admitted: (admission) => listeners.forEach((l) => l.admitted?.(admission)),
        upstreamHeaders: (attempt, headers) => listeners.forEach((l) => l.upstreamHeaders?.(attempt, headers)),
        attempted: (result) => listeners.forEach((l) => l.attempted?.(result)),
        firstByte: (ttfbMs) => listeners.forEach((l) => l.firstByte?.(ttfbMs)),
        ended: (end) => listeners.forEach((l) => l.ended(end)),
      };
    },
  };
}
