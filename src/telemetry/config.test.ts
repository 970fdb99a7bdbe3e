import { describe, expect, it } from "vitest";
import { parseSettings, SettingsError } from "../core/settings.ts";
import { tracingConfig } from "./config.ts";

const config = (env: Record<string, string>) => tracingConfig(parseSettings(env));

describe("tracingConfig", () => {
  it("is off without an endpoint, whatever else is set", () => {
    expect(config({})).toBeUndefined();
    expect(config({ OTEL_SERVICE_NAME: "gw", OTEL_EXPORTER_OTLP_HEADERS: "a=b" })).toBeUndefined();
  });

  it("is off when OTEL_SDK_DISABLED=true even with an endpoint", () => {
    expect(config({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_SDK_DISABLED: "true" })).toBeUndefined();
  });

  it("appends v1/traces to the base endpoint and uses the traces endpoint as is", () => {
    expect(config({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" })?.url).toBe("http://127.0.0.1:4318/v1/traces");
    expect(config({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/otlp/" })?.url).toBe("http://collector:4318/otlp/v1/traces");
    expect(config({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:9999/custom" })?.url).toBe("http://b:9999/custom");
  });

  it("parses headers (percent-decoded, traces-only ones winning) and defaults the service name", () => {
    const c = config({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_EXPORTER_OTLP_HEADERS: "X-Api-Key=s%3Dcret, x-team=ops", OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-team=traces" });
    expect(c?.headers).toEqual({ "x-api-key": "s=cret", "x-team": "traces" });
    expect(c?.serviceName).toBe("gatehouse");
    expect(c?.sampler).toBe("parentbased_always_on");
  });

  it("refuses bad values with the variable's name and never the header value", () => {
    expect(() => config({ OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
    expect(() => config({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL: Gatehouse exports OTLP over HTTP/);
    expect(() => config({ OTEL_TRACES_SAMPLER_ARG: "1.5" })).toThrow(SettingsError);
    const bad = () => config({ OTEL_EXPORTER_OTLP_HEADERS: "secret-without-name" });
    expect(bad).toThrow(/OTEL_EXPORTER_OTLP_HEADERS: must be key=value pairs/);
    expect(bad).not.toThrow(/secret-without-name/);
    const escape = () => config({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=%zzsecret" });
    expect(escape).toThrow(/OTEL_EXPORTER_OTLP_HEADERS: the value of x-api-key has a malformed percent escape/);
    expect(escape).not.toThrow(/zzsecret/);
  });
});
