import packageJson from "../../package.json" with { type: "json" };
import type { Logger } from "../core/logger.ts";
import type { Settings } from "../core/settings.ts";
import { tracingConfig } from "./config.ts";
import type { Tracing } from "./tracing.ts";

/**
 * Tracing from the OTEL_* settings, exported over OTLP/HTTP with JSON bodies; undefined, with
 * no OpenTelemetry module loaded, when no endpoint is set. The same on every runtime: the
 * exporter package picks its transport by platform (node:http on Node, `fetch` in a Worker
 * bundle, whose bundler resolves the package's browser build). URL and headers are passed in
 * explicitly; the exporter still reads the OTEL_EXPORTER_OTLP_* variables this gateway leaves
 * to it where the runtime has an environment (timeout, compression, client certificates).
 */
export async function startOtlpTracing(settings: Settings, logger: Logger): Promise<Tracing | undefined> {
  const config = tracingConfig(settings);
  if (!config) return undefined;
  const [{ OTLPTraceExporter }, { startTracing }] = await Promise.all([import("@opentelemetry/exporter-trace-otlp-http"), import("./tracing.ts")]);
  const exporter = new OTLPTraceExporter({ url: config.url, headers: config.headers });
  const tracing = startTracing(exporter, { serviceName: config.serviceName, serviceVersion: packageJson.version, sampler: config.sampler, samplerRatio: config.samplerRatio, batch: config.batch, logger });
  // The endpoint's origin only: a URL may carry credentials in its userinfo or query.
  logger.info({ endpoint: new URL(config.url).origin, sampler: config.sampler }, "tracing on: exporting spans over OTLP/HTTP");
  return tracing;
}
