import { settingsEnvNames, type Settings } from "../core/settings.ts";

/** What the tracing exporter needs, derived from the OTEL_* settings; undefined when tracing is off. */
export interface TracingConfig {
  /** The OTLP/HTTP traces URL spans are POSTed to. */
  url: string;
  /** Sent with every export (a collector's API key, often): never logged. */
  headers: Record<string, string>;
  serviceName: string;
  sampler: Settings["otelTracesSampler"];
  samplerRatio: number;
  batch: { scheduledDelayMillis: number; maxQueueSize: number };
}

/**
 * Tracing is on when an OTLP endpoint is set and OTEL_SDK_DISABLED is not: with neither, no
 * observer is registered and a request pays nothing. The traces endpoint is used as is; the
 * base endpoint gets `v1/traces` appended (the OTLP exporter specification's rule).
 */
export function tracingConfig(settings: Settings): TracingConfig | undefined {
  if (settings.otelSdkDisabled) return undefined;
  const url = settings.otelTracesEndpoint ?? (settings.otelEndpoint ? `${settings.otelEndpoint.replace(/\/+$/, "")}/v1/traces` : undefined);
  if (url === undefined) return undefined;
  return {
    url,
    // Both lists apply; the traces-only one wins for a name in both.
    headers: { ...parseOtlpHeaders(settings.otelHeaders, settingsEnvNames.otelHeaders), ...parseOtlpHeaders(settings.otelTracesHeaders, settingsEnvNames.otelTracesHeaders) },
    serviceName: settings.otelServiceName,
    sampler: settings.otelTracesSampler,
    samplerRatio: settings.otelTracesSamplerArg,
    batch: { scheduledDelayMillis: settings.otelBspScheduleDelay, maxQueueSize: settings.otelBspMaxQueueSize },
  };
}

/**
 * `key=value,key2=value2` with percent-encoded values (OTLP exporter specification). The
 * settings schema checked the shape; a broken escape stops the start, naming the variable
 * but not the value (it is usually a credential).
 */
export function parseOtlpHeaders(text: string | undefined, variable: string): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!text) return headers;
  for (const pair of text.split(",")) {
    const eq = pair.indexOf("=");
    const name = pair.slice(0, eq).trim().toLowerCase();
    const raw = pair.slice(eq + 1).trim();
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch (err) {
      if (err instanceof URIError) throw new Error(`${variable}: the value of ${name} has a malformed percent escape (encode % as %25).`);
      throw err;
    }
    headers[name] = value;
  }
  return headers;
}
