import type { Logger } from "../../core/logger.ts";
import type { Settings } from "../../core/settings.ts";
import { startTracing, tracingConfig, type Tracing } from "../../telemetry/index.ts";

/**
 * Tracing on Node: an OTLP/HTTP (JSON) exporter from the OTEL_* settings, or nothing at all
 * when no endpoint is set (no observer, no SDK loaded). The URL and headers are passed in
 * explicitly; the exporter still reads the OTEL_EXPORTER_OTLP_* variables this gateway leaves
 * to it (timeout, compression, client certificates).
 */
export async function startNodeTracing(settings: Settings, logger: Logger, serviceVersion?: string): Promise<Tracing | undefined> {
  const config = tracingConfig(settings);
  if (!config) return undefined;
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
  const exporter = new OTLPTraceExporter({ url: config.url, headers: config.headers });
  const tracing = await startTracing(exporter, { serviceName: config.serviceName, serviceVersion, sampler: config.sampler, samplerRatio: config.samplerRatio, batch: config.batch, logger });
  // The endpoint's origin only: a URL may carry credentials in its userinfo or query.
  logger.info({ endpoint: new URL(config.url).origin, sampler: config.sampler }, "tracing on: exporting spans over OTLP/HTTP");
  return tracing;
}
