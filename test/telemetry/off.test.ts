// Zero cost when off, measured: with no OTLP endpoint the module that makes spans (and holds
// the observer's `begin`) is never even loaded, through a whole gateway serving a request.
import { describe, expect, it, vi } from "vitest";
import { parseSettings } from "../../src/core/settings.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { startOtlpTracing } from "../../src/telemetry/index.ts";
import { CLIENT_TOKEN, startHarness } from "../gateway/harness.ts";

const loads = vi.hoisted(() => ({ tracing: 0 }));
vi.mock("../../src/telemetry/tracing.ts", async (importOriginal) => {
  loads.tracing += 1;
  return await importOriginal();
});

describe("tracing off", () => {
  it("loads no tracing code and registers no observer, through a request", async () => {
    const h = await startHarness();
    try {
      expect(h.gateway.tracing).toBeUndefined();
      const res = await fetch(`${h.gateway.url}/openai/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}`, traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
        body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(res.status).toBe(200);
      await res.text();
    } finally {
      await h.close();
    }
    expect(loads.tracing).toBe(0);
  });

  it("(control) the same module is loaded as soon as an endpoint is set", async () => {
    const tracing = await startOtlpTracing(parseSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" }), silentLogger);
    expect(tracing).toBeDefined();
    await tracing?.shutdown();
    expect(loads.tracing).toBe(1);
  });
});
