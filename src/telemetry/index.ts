/**
 * OpenTelemetry tracing (docs/telemetry.md): a request-observer subscriber that makes GenAI
 * semantic-convention spans, takes the client's W3C trace context and hands the gateway's to
 * each upstream attempt, exported over OTLP/HTTP. Importing this face loads no OpenTelemetry
 * code; `startOtlpTracing` loads the SDK and the exporter (~0.3 s of module loading) only when
 * an endpoint is set.
 */
export { startOtlpTracing } from "./otlp.ts";
export { tracingConfig, parseOtlpHeaders, type TracingConfig } from "./config.ts";
export type { Tracing, TracingOptions } from "./tracing.ts";
