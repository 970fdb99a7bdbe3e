import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { Tracing, TracingOptions } from "./tracing.ts";

/**
 * OpenTelemetry tracing (docs/telemetry.md): a request-observer subscriber that makes GenAI
 * semantic-convention spans, takes the client's W3C trace context and hands the gateway's to
 * each upstream attempt. Runtime-neutral: the adapter builds the exporter. Importing this face
 * loads no OpenTelemetry code; `startTracing` loads the SDK (~0.3 s of module loading) only
 * when tracing is on.
 */
export { tracingConfig, parseOtlpHeaders, type TracingConfig } from "./config.ts";
export type { Tracing, TracingOptions } from "./tracing.ts";

export async function startTracing(exporter: SpanExporter, options: TracingOptions): Promise<Tracing> {
  const { startTracing: start } = await import("./tracing.ts");
  return start(exporter, options);
}
