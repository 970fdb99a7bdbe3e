import type { Caller } from "../core/caller.ts";
import type { GatewayError } from "../core/errors.ts";
import type { LedgerRow } from "../ledger/index.ts";
import type { ProviderDescriptor, RequestShape } from "../providers/index.ts";
import type { StreamOutcome } from "../store/index.ts";
import type { Admission } from "./policy.ts";
import type { Logger } from "../core/logger.ts";
import { describeError } from "../core/app.ts";

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

/**
 * One request's events, in this order; every method but `ended` is optional and may be
 * skipped. `attempted` comes once per upstream attempt: for a discarded fallback attempt as
 * soon as it is given up (`retried`), for the attempt that answers when its answer starts
 * (or with status 0 at its end when it never started).
 */
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
  /**
   * The body of the first upstream attempt, as it leaves (body capture). Called at most once,
   * synchronously: a subscriber copies what it keeps and never holds the request up.
   */
  requestBody?(body: Uint8Array): void;
  /** The first response byte went to the client. */
  firstByte?(ttfbMs: number): void;
  /**
   * A chunk of the answering attempt's response as it passes to the client (as the upstream
   * sent it), synchronously from the byte path: a subscriber copies what it keeps, at once.
   */
  responseChunk?(chunk: Uint8Array): void;
  /** The request is over: exactly once per request. */
  ended(end: RequestEnd): void;
}

export interface AttemptResult {
  /** 1-based. */
  attempt: number;
  model: string | undefined;
  /** The provider the attempt went to, when not the request's own (a cross-provider fallback). */
  provider?: ProviderDescriptor | undefined;
  status: number;
  /** The upstream's host (never its userinfo or path). */
  serverAddress: string | undefined;
  /** Whether the next model is tried (fallback routing) instead of answering the client. */
  retried: boolean;
  /** The pool key's name (never its value) the attempt was sent with, when the provider has a key pool. */
  keyName?: string | undefined;
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
   * is known to charge it to (authentication failed, or it was refused before it), and for
   * a WebSocket upgrade (status 101), whose response.create requests each have their own.
   */
  row: LedgerRow | undefined;
}

/**
 * One observer from several, in order, as the composition root wires them. Each subscriber
 * is isolated: one that throws is logged and the others still hear the event (a tracing
 * exporter's bug must not lose a ledger row or a budget settle), and the proxy never sees
 * the throw. `ended` is passed on once per request even if the proxy called it twice, and
 * no event after it. A request costs one listener object; an event no subscriber
 * listens to costs one loop over the request's listeners.
 */
export function combineObservers(observers: readonly RequestObserver[], logger: Logger): RequestObserver {
  return {
    begin(request) {
      let listeners: RequestListener[] | undefined;
      for (const observer of observers) {
        let listener: RequestListener | undefined;
        try {
          listener = observer.begin(request);
        } catch (err) {
          logSubscriberFailure(logger, "begin", request.requestId, err);
        }
        if (listener) (listeners ??= []).push(listener);
      }
      return listeners ? new CombinedListener(listeners, request.requestId, logger) : undefined;
    },
  };
}

class CombinedListener implements RequestListener {
  private done = false;
  /** The listeners that take response chunks, found once: the byte path loops over none when nobody captures. */
  private chunkListeners: RequestListener[] | undefined;

  constructor(
    private readonly listeners: RequestListener[],
    private readonly requestId: string,
    private readonly logger: Logger,
  ) {}

  identified(caller: Caller): void {
    if (this.done) return;
    for (const l of this.listeners) {
      if (!l.identified) continue;
      try {
        l.identified(caller);
      } catch (err) {
        this.failed("identified", err);
      }
    }
  }

  classified(shape: RequestShape): void {
    if (this.done) return;
    for (const l of this.listeners) {
      if (!l.classified) continue;
      try {
        l.classified(shape);
      } catch (err) {
        this.failed("classified", err);
      }
    }
  }

  admitted(admission: Admission): void {
    if (this.done) return;
    for (const l of this.listeners) {
      if (!l.admitted) continue;
      try {
        l.admitted(admission);
      } catch (err) {
        this.failed("admitted", err);
      }
    }
  }

  upstreamHeaders(attempt: number, headers: Record<string, string>): void {
    if (this.done) return;
    for (const l of this.listeners) {
      if (!l.upstreamHeaders) continue;
      try {
        l.upstreamHeaders(attempt, headers);
      } catch (err) {
        this.failed("upstreamHeaders", err);
      }
    }
  }

  attempted(result: AttemptResult): void {
    if (this.done) return;
    for (const l of this.listeners) {
      if (!l.attempted) continue;
      try {
        l.attempted(result);
      } catch (err) {
        this.failed("attempted", err);
      }
    }
  }

  requestBody(body: Uint8Array): void {
    if (this.done) return;
    for (const l of this.listeners) {
      if (!l.requestBody) continue;
      try {
        l.requestBody(body);
      } catch (err) {
        this.failed("requestBody", err);
      }
    }
  }

  responseChunk(chunk: Uint8Array): void {
    if (this.done) return;
    this.chunkListeners ??= this.listeners.filter((l) => l.responseChunk !== undefined);
    for (const l of this.chunkListeners) {
      try {
        l.responseChunk?.(chunk);
      } catch (err) {
        this.failed("responseChunk", err);
      }
    }
  }

  firstByte(ttfbMs: number): void {
    if (this.done) return;
    for (const l of this.listeners) {
      if (!l.firstByte) continue;
      try {
        l.firstByte(ttfbMs);
      } catch (err) {
        this.failed("firstByte", err);
      }
    }
  }

  ended(end: RequestEnd): void {
    if (this.done) return;
    this.done = true;
    for (const l of this.listeners) {
      try {
        l.ended(end);
      } catch (err) {
        this.failed("ended", err);
      }
    }
  }

  private failed(event: string, err: unknown): void {
    logSubscriberFailure(this.logger, event, this.requestId, err);
  }
}

function logSubscriberFailure(logger: Logger, event: string, requestId: string, err: unknown): void {
  logger.error({ requestId, event, err: describeError(err) }, "a request observer failed; the other subscribers still ran");
}
