import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type ReadableSpan, type Sampler, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { LogThrottle } from "../core/log-throttle.ts";
import type { Logger } from "../core/logger.ts";
import type { RequestObserver } from "../proxy/index.ts";
import type { TracingConfig } from "./config.ts";
import { createTracingObserver } from "./observer.ts";
import { TRACE_CONTEXT_HEADERS } from "./trace-context.ts";

/** A running tracer: the observer to register, the headers the proxy must not pass through, and its end. */
export interface Tracing {
  observer: RequestObserver;
  /**
   * The client's trace headers, never forwarded while tracing is on: each attempt gets the
   * gateway's own `traceparent` instead (and `tracestate` only when the client's was valid).
   */
  stripHeaders: readonly string[];
  /** Exports what is queued; resolves (a failure logged) even when the receiver refuses. */
  flush(): Promise<void>;
  /** Exports what is queued, then stops; spans ended after it are dropped. Never rejects: the gateway's close goes on. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  serviceName: string;
  serviceVersion?: string | undefined;
  sampler: TracingConfig["sampler"];
  samplerRatio: number;
  /** Where export failures are reported (throttled: a collector down logs a few lines a minute). */
  logger: Logger;
  /** BatchSpanProcessor tuning; the SDK defaults (and its OTEL_BSP_* variables) otherwise. */
  batch?: { scheduledDelayMillis?: number; maxQueueSize?: number; maxExportBatchSize?: number; exportTimeoutMillis?: number };
}

/**
 * A tracer provider of its own (never the process-global one, so two gateways in one process
 * keep apart), spans batched off the hot path to the exporter the adapter built.
 */
export function startTracing(exporter: SpanExporter, options: TracingOptions): Tracing {
  const resource = resourceFromAttributes({ "service.name": options.serviceName, ...(options.serviceVersion ? { "service.version": options.serviceVersion } : {}) });
  const processor = new BatchSpanProcessor(reportingFailures(exporter, options.logger), options.batch);
  const provider = new BasicTracerProvider({ resource, sampler: samplerFor(options.sampler, options.samplerRatio), spanProcessors: [processor] });
  const tracer = provider.getTracer("gatehouse", options.serviceVersion);
  return {
    observer: createTracingObserver(tracer),
    stripHeaders: TRACE_CONTEXT_HEADERS,
    flush: () => provider.forceFlush().catch((err: unknown) => incomplete(options.logger, "flush", err)),
    shutdown: () => provider.shutdown().catch((err: unknown) => incomplete(options.logger, "shutdown", err)),
  };
}

/** A flush that did not reach the receiver: its spans are lost, the gateway keeps going. */
function incomplete(logger: Logger, step: string, err: unknown): void {
  logger.warn({ step, err: { message: err instanceof Error ? err.message : String(err) } }, "tracing: queued spans were not all exported");
}

function samplerFor(name: TracingConfig["sampler"], ratio: number): Sampler {
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(ratio);
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

/** The SDK reports a failed export to its own diagnostics only; the gateway's log says so. */
function reportingFailures(exporter: SpanExporter, logger: Logger): SpanExporter {
  const throttle = new LogThrottle(logger);
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
      exporter.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) {
          // The error's message only: the exporter's request headers (credentials) are never in it.
          throttle.warn({ spans: spans.length, err: { message: result.error?.message ?? "export failed" } }, "OTLP span export failed; these spans are dropped");
        }
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}
