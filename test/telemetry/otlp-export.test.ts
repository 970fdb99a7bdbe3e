// The Node exporter end to end with synthetic observer events: what leaves the process over
// OTLP/HTTP, decoded by a local receiver the way a collector would.
import packageJson from "../../package.json" with { type: "json" };
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Logger } from "../../src/core/logger.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { blankLedgerRow } from "../../src/ledger/index.ts";
import { providerById } from "../../src/providers/index.ts";
import { startOtlpTracing, type Tracing } from "../../src/telemetry/index.ts";
import { startOtlpReceiver, type OtlpReceiver } from "./otlp-receiver.ts";

let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  await receiver.close();
});
beforeEach(() => {
  receiver.spans.length = 0;
  receiver.rawBodies.length = 0;
  receiver.requests.length = 0;
  receiver.failWith(200);
});

function recordingLogger(): Logger & { lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, message, fields });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

async function tracingFor(env: Record<string, string>, logger: Logger = recordingLogger()): Promise<Tracing> {
  const tracing = await startOtlpTracing(parseSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...env }), logger);
  if (!tracing) throw new Error("tracing should be on with an endpoint set");
  return tracing;
}

function oneRequest(tracing: Tracing, headers: Record<string, string> = {}): Record<string, string> {
  const listener = tracing.observer.begin({ requestId: "req-export", provider: providerById("openai"), method: "POST", ts: Date.now(), startedAt: performance.now(), traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" });
  listener?.identified?.({ id: "0199aaaa-0000-7000-8000-000000000001", email: "bob@example.com", groups: [], team: undefined, tokenId: undefined });
  listener?.classified?.({ endpoint: "chat", format: "openai-chat", model: "gpt-4o-mini", streaming: false, metered: true });
  listener?.upstreamHeaders?.(1, headers);
  listener?.attempted?.({ attempt: 1, model: "gpt-4o-mini", status: 200, serverAddress: "127.0.0.1:9", retried: false });
  const row = {
    ...blankLedgerRow({ request_id: "req-export", ts: 0, day: "2026-12-01", caller_id: "x", team: null, provider: "openai", model: "gpt-4o-mini-2024-07-18", endpoint: "chat", status: 200, outcome: "completed", duration_ms: 5 }),
    input_tokens: 70,
    cache_read_tokens: 30,
    output_tokens: 9,
  };
  listener?.ended({ outcome: "completed", status: 200, errorCode: null, row });
  return headers;
}

describe("OTLP/HTTP export", () => {
  it("is not started at all without an endpoint", async () => {
    expect(await startOtlpTracing(parseSettings({}), recordingLogger())).toBeUndefined();
    expect(await startOtlpTracing(parseSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: "true" }), recordingLogger())).toBeUndefined();
  });

  it("sends the spans as OTLP/JSON to <endpoint>/v1/traces with the configured headers and resource, and flushes on shutdown", async () => {
    const logger = recordingLogger();
    const tracing = await tracingFor({ OTEL_EXPORTER_OTLP_HEADERS: "x-collector-key=otlp-secret-123", OTEL_SERVICE_NAME: "gatehouse-test" }, logger);
    const headers = oneRequest(tracing);
    // Batched (5 s by default): nothing needs to have gone yet; shutdown exports what is queued.
    await tracing.shutdown();
    const spans = await receiver.waitFor((s) => s.length === 2);
    const server = spans.find((s) => s.kind === "server");
    const client = spans.find((s) => s.kind === "client");
    expect(server).toMatchObject({ name: "chat gpt-4o-mini", traceId: "0af7651916cd43dd8448eb211c80319c", parentSpanId: "b7ad6b7169203331" });
    expect(server?.attributes).toMatchObject({
      "gen_ai.usage.input_tokens": 100,
      "gen_ai.usage.cache_read.input_tokens": 30,
      "gen_ai.usage.output_tokens": 9,
      "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
      "enduser.pseudo.id": "0199aaaa-0000-7000-8000-000000000001",
    });
    expect(server?.resource).toMatchObject({ "service.name": "gatehouse-test", "service.version": packageJson.version });
    expect(client).toMatchObject({ parentSpanId: server?.spanId, traceId: server?.traceId });
    expect(client?.attributes).toMatchObject({ "server.address": "127.0.0.1", "server.port": 9 });
    expect(headers["traceparent"]).toBe(`00-${server?.traceId}-${client?.spanId}-01`);
    const post = receiver.requests.find((r) => r.path === "/v1/traces");
    expect(post?.headers["x-collector-key"]).toBe("otlp-secret-123");
    expect(post?.headers["content-type"]).toContain("application/json");
    expect(receiver.rawBodies.join("")).not.toContain("bob@example.com");
    // The start line names the endpoint's origin, never the headers.
    expect(JSON.stringify(logger.lines)).not.toContain("otlp-secret-123");
    expect(logger.lines.some((l) => l.message.startsWith("tracing on") && l.fields["endpoint"] === receiver.url)).toBe(true);
  });

  it("a receiver that refuses the export is logged (without the export's credentials), and the gateway carries on", async () => {
    const logger = recordingLogger();
    const tracing = await tracingFor({ OTEL_EXPORTER_OTLP_HEADERS: "x-collector-key=otlp-secret-456" }, logger);
    receiver.failWith(400);
    oneRequest(tracing);
    await tracing.flush();
    await tracing.shutdown();
    const warned = logger.lines.filter((l) => l.level === "warn" && l.message.startsWith("OTLP span export failed"));
    expect(warned).toHaveLength(1);
    expect(warned[0]?.fields["spans"]).toBe(2);
    expect(JSON.stringify(logger.lines)).not.toContain("otlp-secret-456");
    expect(receiver.spans).toHaveLength(0);
  });
});
