import { SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from "@opentelemetry/api";
import type { Caller } from "../core/caller.ts";
import type { ProviderDescriptor, RequestShape } from "../providers/index.ts";
import type { Admission, AttemptResult, RequestEnd, RequestListener, RequestObserver, RequestStart } from "../proxy/index.ts";
import { ATTR, operationName, providerName, serverAttributes, spanName, usageAttributes } from "./attributes.ts";
import { clientTraceContext, injectTraceContext } from "./trace-context.ts";

/**
 * Tracing as a request-observer subscriber: one SERVER span per request (the request as the
 * client saw it: who, what, the ledger's usage and cost, how it ended), and one CLIENT span
 * per upstream attempt under it (where it went, what the upstream answered). The SERVER
 * span's parent is the client's `traceparent` when it sent a valid one; each attempt's
 * upstream gets a `traceparent` naming that attempt's CLIENT span. Token counts are on the
 * SERVER span only, so a backend that sums `gen_ai.usage.*` over spans counts them once.
 * Never sees an email, a token, a key or a prompt: the port does not carry them.
 */
export function createTracingObserver(tracer: Tracer): RequestObserver {
  return { begin: (request) => new RequestSpans(tracer, request) };
}

class RequestSpans implements RequestListener {
  private readonly span: Span;
  /** The SERVER span's context: every attempt's parent. */
  private readonly context: Context;
  private readonly provider: ProviderDescriptor;
  private shape: RequestShape | undefined;
  private operation: string;
  private route: Admission["route"];
  /** Open CLIENT spans by attempt (1-based; index 0 unused). */
  private readonly attempts: Array<Span | undefined> = [];

  constructor(
    private readonly tracer: Tracer,
    request: RequestStart,
  ) {
    this.provider = request.provider;
    // Until the request is classified it is known only by its route, the HTTP convention's name.
    const route = `${request.provider.routePrefix}/*`;
    const method = knownMethod(request.method);
    this.operation = `${method === "_OTHER" ? "HTTP" : method} ${route}`;
    const parent = clientTraceContext(request);
    this.span = tracer.startSpan(
      this.operation,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR.providerName]: providerName(request.provider),
          [ATTR.httpMethod]: method,
          [ATTR.httpRoute]: route,
          [ATTR.requestId]: request.requestId,
        },
      },
      parent,
    );
    this.context = trace.setSpan(parent, this.span);
  }

  identified(caller: Caller): void {
    // The anonymous id only: the email, groups and team never go into a span.
    this.span.setAttribute(ATTR.callerPseudoId, caller.id);
  }

  classified(shape: RequestShape): void {
    this.shape = shape;
    this.operation = operationName(shape);
    this.span.updateName(spanName(this.operation, shape.model));
    const attributes: Attributes = { [ATTR.operationName]: this.operation, [ATTR.endpoint]: shape.endpoint, [ATTR.requestStream]: shape.streaming };
    if (shape.model !== undefined) attributes[ATTR.requestModel] = shape.model;
    this.span.setAttributes(attributes);
  }

  admitted(admission: Admission): void {
    this.route = admission.route;
  }

  upstreamHeaders(attempt: number, headers: Record<string, string>): void {
    const span = this.attempts[attempt] ?? this.startAttempt(attempt);
    injectTraceContext(trace.setSpan(this.context, span), headers);
  }

  attempted(result: AttemptResult): void {
    const span = this.attempts[result.attempt] ?? this.startAttempt(result.attempt);
    const attributes: Attributes = result.serverAddress ? serverAttributes(result.serverAddress) : {};
    // A cross-provider fallback: the attempt's span names the provider that was called.
    if (result.provider) attributes[ATTR.providerName] = providerName(result.provider);
    if (result.model !== undefined) {
      attributes[ATTR.requestModel] = result.model;
      span.updateName(spanName(this.operation, result.model));
    }
    if (result.status > 0) attributes[ATTR.httpStatus] = result.status;
    // The HTTP client convention: a status of 400 or more is the error's type; no status, no answer.
    if (result.status >= 400 || result.status === 0) {
      attributes[ATTR.errorType] = result.status === 0 ? "upstream_unreachable" : String(result.status);
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.setAttributes(attributes);
    if (result.retried) {
      span.end();
      this.attempts[result.attempt] = undefined;
    }
  }

  firstByte(ttfbMs: number): void {
    // Measured at the gateway: from the request's arrival to the first byte relayed to the client.
    if (this.shape?.streaming) this.span.setAttribute(ATTR.timeToFirstChunk, ttfbMs / 1000);
  }

  ended(end: RequestEnd): void {
    const { row } = end;
    const attributes: Attributes = { [ATTR.outcome]: end.outcome };
    if (end.status > 0) attributes[ATTR.httpStatus] = end.status;
    // The gateway's own code when it refused or failed; else how it ended; else the status the
    // client got when it says the operation failed (a provider's 4xx/5xx passed through).
    const errorType = end.errorCode ?? (end.outcome !== "completed" ? end.outcome : end.status >= 400 ? String(end.status) : undefined);
    if (errorType !== undefined) attributes[ATTR.errorType] = errorType;
    if (row) {
      // The model that answered (the upstream's own id when it reported one, else the attempt's).
      if (row.model) attributes[ATTR.responseModel] = row.model;
      if (this.shape?.metered) Object.assign(attributes, usageAttributes(row));
    }
    // The HTTP server convention: the gateway failed the request when it answered 5xx or not at all.
    const failed = end.outcome === "upstream_failed" || end.status >= 500 || (end.status === 0 && end.outcome !== "client_aborted");
    for (let attempt = 1; attempt < this.attempts.length; attempt++) {
      const span = this.attempts[attempt];
      if (!span) continue;
      if (row?.model) span.setAttribute(ATTR.responseModel, row.model);
      if (end.outcome === "upstream_failed") {
        if (errorType !== undefined) span.setAttribute(ATTR.errorType, errorType);
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    }
    this.span.setAttributes(attributes);
    // The message is the gateway's own error code, never an upstream body.
    if (failed) this.span.setStatus({ code: SpanStatusCode.ERROR, message: errorType ?? "failed" });
    this.span.end();
  }

  private startAttempt(attempt: number): Span {
    const model = attempt === 1 ? (this.route?.model ?? this.shape?.model) : this.route?.fallbacks[attempt - 2];
    const attributes: Attributes = { [ATTR.operationName]: this.operation, [ATTR.providerName]: providerName(this.provider), [ATTR.attempt]: attempt };
    if (model !== undefined) attributes[ATTR.requestModel] = model;
    const span = this.tracer.startSpan(spanName(this.operation, model), { kind: SpanKind.CLIENT, attributes }, this.context);
    this.attempts[attempt] = span;
    return span;
  }
}

/** The HTTP convention's known methods; any other is `_OTHER`, so a client cannot mint span names. */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY"]);

function knownMethod(method: string): string {
  return KNOWN_METHODS.has(method) ? method : "_OTHER";
}
