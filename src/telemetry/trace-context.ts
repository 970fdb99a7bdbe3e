import { ROOT_CONTEXT, type Context, type TextMapGetter, type TextMapSetter } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";

/** The W3C Trace Context headers: taken from the client, replaced by the gateway's own upstream. */
export const TRACE_CONTEXT_HEADERS = ["traceparent", "tracestate"] as const;

const propagator = new W3CTraceContextPropagator();

interface ClientTraceHeaders {
  traceparent?: string | undefined;
  tracestate?: string | undefined;
}

const getter: TextMapGetter<ClientTraceHeaders> = {
  keys: () => [...TRACE_CONTEXT_HEADERS],
  get: (carrier, key) => (key === "traceparent" ? carrier.traceparent : key === "tracestate" ? carrier.tracestate : undefined),
};

const setter: TextMapSetter<Record<string, string>> = {
  // An empty tracestate (every member was invalid) is left out rather than sent empty.
  set: (carrier, key, value) => {
    if (value !== "") carrier[key] = value;
  },
};

/**
 * The client's trace context as the parent of the gateway's span. A traceparent the W3C
 * grammar rejects (wrong length, upper case, all-zero ids, version ff, extra fields on
 * version 00) yields the root context: the request starts a new trace, and the client's
 * tracestate goes with its rejected traceparent (the spec's rule). Never throws.
 */
export function clientTraceContext(headers: ClientTraceHeaders): Context {
  if (headers.traceparent === undefined) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, headers, getter);
}

/** Writes `traceparent` (and `tracestate`, when there is one) for the span in `context`. */
export function injectTraceContext(context: Context, headers: Record<string, string>): void {
  propagator.inject(context, headers, setter);
}
