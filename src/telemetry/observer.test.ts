import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import type { Caller } from "../core/caller.ts";
import { blankLedgerRow, type LedgerRow } from "../ledger/index.ts";
import { providerById, type RequestShape } from "../providers/index.ts";
import type { RequestListener, RequestStart } from "../proxy/index.ts";
import { createTracingObserver } from "./observer.ts";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const observer = createTracingObserver(provider.getTracer("test"));
afterEach(() => exporter.reset());

const CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";
const caller: Caller = { id: "0199aaaa-bbbb-7ccc-8ddd-eeeeffff0000", email: "alice@example.com", groups: ["eng"], team: "eng", tokenId: "jti-1" };
const anthropic = providerById("anthropic");
const chat: RequestShape = { endpoint: "messages", format: "anthropic-messages", model: "claude-sonnet-4-5", streaming: true, metered: true };

function start(overrides: Partial<RequestStart> = {}): RequestListener {
  const listener = observer.begin({ requestId: "req-1", provider: anthropic, method: "POST", ts: Date.now(), startedAt: performance.now(), ...overrides });
  if (!listener) throw new Error("the tracing observer listens to every request");
  return listener;
}

function row(overrides: Partial<LedgerRow> = {}): LedgerRow {
  return {
    ...blankLedgerRow({ request_id: "req-1", ts: 0, day: "2026-12-01", caller_id: caller.id, team: "eng", provider: "anthropic", model: "claude-sonnet-4-5-20250929", endpoint: "messages", status: 200, outcome: "completed", duration_ms: 12 }),
    input_tokens: 1200,
    output_tokens: 345,
    cache_read_tokens: 20000,
    cache_write_5m_tokens: 1500,
    cache_write_1h_tokens: 800,
    reasoning_tokens: 40,
    cost_usd: 0.0123,
    ...overrides,
  };
}

function spans(): { server: ReadableSpan; clients: ReadableSpan[] } {
  const all = exporter.getFinishedSpans();
  const server = all.find((s) => s.kind === SpanKind.SERVER);
  if (!server) throw new Error(`no SERVER span among ${all.map((s) => s.name).join(", ")}`);
  return { server, clients: all.filter((s) => s.kind === SpanKind.CLIENT) };
}

/** A full successful request, as the handler reports it. */
function completedRequest(listener: RequestListener, headers: Record<string, string> = {}): Record<string, string> {
  listener.identified?.(caller);
  listener.classified?.(chat);
  listener.admitted?.({ bodyChanged: false, settle: () => undefined });
  listener.upstreamHeaders?.(1, headers);
  listener.attempted?.({ attempt: 1, model: "claude-sonnet-4-5", status: 200, serverAddress: "api.anthropic.com", retried: false });
  listener.firstByte?.(250);
  listener.ended({ outcome: "completed", status: 200, errorCode: null, row: row() });
  return headers;
}

describe("tracing observer", () => {
  it("makes a SERVER span named {operation} {model} with the GenAI attributes and the ledger row's exact usage, and a CLIENT child per attempt", () => {
    completedRequest(start());
    const { server, clients } = spans();
    expect(server.name).toBe("chat claude-sonnet-4-5");
    expect(server.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "anthropic",
      "gen_ai.request.model": "claude-sonnet-4-5",
      "gen_ai.response.model": "claude-sonnet-4-5-20250929",
      "gen_ai.request.stream": true,
      // The convention's input count includes cached tokens; the ledger keeps them apart.
      "gen_ai.usage.input_tokens": 1200 + 20000 + 1500 + 800,
      "gen_ai.usage.output_tokens": 345,
      "gen_ai.usage.cache_read.input_tokens": 20000,
      "gen_ai.usage.cache_creation.input_tokens": 2300,
      "gen_ai.usage.reasoning.output_tokens": 40,
      "gatehouse.cost_usd": 0.0123,
      "gen_ai.response.time_to_first_chunk": 0.25,
      "http.request.method": "POST",
      "http.response.status_code": 200,
      "enduser.pseudo.id": caller.id,
      "gatehouse.request_id": "req-1",
      "gatehouse.outcome": "completed",
    });
    expect(server.attributes["error.type"]).toBeUndefined();
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
    expect(clients).toHaveLength(1);
    const client = clients[0]!;
    expect(client.name).toBe("chat claude-sonnet-4-5");
    expect(client.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(client.spanContext().traceId).toBe(server.spanContext().traceId);
    expect(client.attributes).toMatchObject({ "server.address": "api.anthropic.com", "http.response.status_code": 200, "gen_ai.request.model": "claude-sonnet-4-5", "gen_ai.response.model": "claude-sonnet-4-5-20250929" });
    // Usage is counted once per request: on the SERVER span only.
    expect(client.attributes["gen_ai.usage.input_tokens"]).toBeUndefined();
  });

  it("never puts the email, team, groups or token id in a span", () => {
    completedRequest(start());
    const text = JSON.stringify(exporter.getFinishedSpans().map((s) => [s.name, s.attributes, s.events, s.status]));
    for (const secret of ["alice@example.com", "jti-1", '"eng"']) expect(text).not.toContain(secret);
  });

  it("continues the client's trace: the SERVER span's parent is its traceparent, and the upstream gets the CLIENT span's", () => {
    const headers = completedRequest(start({ traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`, tracestate: "vendor=abc,other=x" }));
    const { server, clients } = spans();
    expect(server.spanContext().traceId).toBe(CLIENT_TRACE);
    expect(server.parentSpanContext?.spanId).toBe(CLIENT_SPAN);
    expect(headers["traceparent"]).toBe(`00-${CLIENT_TRACE}-${clients[0]!.spanContext().spanId}-01`);
    expect(headers["tracestate"]).toBe("vendor=abc,other=x");
  });

  it.each([
    ["upper-case hex", `00-${CLIENT_TRACE.toUpperCase()}-${CLIENT_SPAN}-01`],
    ["all-zero trace id", `00-${"0".repeat(32)}-${CLIENT_SPAN}-01`],
    ["all-zero parent id", `00-${CLIENT_TRACE}-${"0".repeat(16)}-01`],
    ["version ff", `ff-${CLIENT_TRACE}-${CLIENT_SPAN}-01`],
    ["extra field on version 00", `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01-extra`],
    ["short trace id", `00-${CLIENT_TRACE.slice(2)}-${CLIENT_SPAN}-01`],
    ["garbage", "not a traceparent"],
    ["header injection", `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01\r\nx-evil: 1`],
    ["empty", ""],
    ["two traceparent headers, as node:http joins them", `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01, 00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`],
  ])("a malformed traceparent (%s) starts a new trace and is not forwarded, nor is its tracestate", (_label, traceparent) => {
    const headers = completedRequest(start({ traceparent, tracestate: "vendor=abc" }));
    const { server, clients } = spans();
    expect(server.spanContext().traceId).not.toBe(CLIENT_TRACE);
    expect(server.parentSpanContext).toBeUndefined();
    expect(headers["traceparent"]).toBe(`00-${server.spanContext().traceId}-${clients[0]!.spanContext().spanId}-01`);
    expect(headers["tracestate"]).toBeUndefined();
  });

  it("keeps only the valid members of a tracestate", () => {
    const headers = completedRequest(start({ traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`, tracestate: "ok=1,BAD KEY=2" }));
    // The SDK's TraceState drops members it cannot parse rather than forward the list as is.
    expect(headers["tracestate"]).toBe("ok=1");
  });

  it("follows an unsampled client: no span is exported, the upstream still gets a fresh span id with the flag off", () => {
    const headers = completedRequest(start({ traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-00` }));
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    expect(headers["traceparent"]).toMatch(new RegExp(`^00-${CLIENT_TRACE}-(?!${CLIENT_SPAN})[0-9a-f]{16}-00$`));
  });

  it("a fallback attempt ends its CLIENT span with the error status, and the next attempt gets its own span and traceparent", () => {
    const listener = start();
    listener.identified?.(caller);
    listener.classified?.(chat);
    listener.admitted?.({ bodyChanged: false, route: { model: "claude-sonnet-4-5", fallbacks: ["claude-haiku-4-5"] }, settle: () => undefined });
    const first: Record<string, string> = {};
    listener.upstreamHeaders?.(1, first);
    listener.attempted?.({ attempt: 1, model: "claude-sonnet-4-5", status: 529, serverAddress: "127.0.0.1:8443", retried: true });
    const second: Record<string, string> = {};
    listener.upstreamHeaders?.(2, second);
    listener.attempted?.({ attempt: 2, model: "claude-haiku-4-5", status: 200, serverAddress: "127.0.0.1:8443", retried: false });
    listener.ended({ outcome: "completed", status: 200, errorCode: null, row: row({ model: "claude-haiku-4-5", attempts: 2 }) });
    const { server, clients } = spans();
    expect(clients.map((c) => c.name)).toEqual(["chat claude-sonnet-4-5", "chat claude-haiku-4-5"]);
    expect(clients[0]!.attributes).toMatchObject({ "error.type": "529", "http.response.status_code": 529, "server.address": "127.0.0.1", "server.port": 8443, "gatehouse.attempt": 1 });
    expect(clients[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(clients[1]!.status.code).toBe(SpanStatusCode.UNSET);
    expect(first["traceparent"]).toContain(clients[0]!.spanContext().spanId);
    expect(second["traceparent"]).toContain(clients[1]!.spanContext().spanId);
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
  });

  it("a cross-provider fallback attempt's CLIENT span names the provider that was called", () => {
    const listener = start();
    listener.identified?.(caller);
    listener.classified?.(chat);
    const bedrock = providerById("bedrock");
    listener.admitted?.({
      bodyChanged: false,
      route: {
        model: "claude-sonnet-4-5",
        fallbacks: ["anthropic.claude-haiku-4-5-20251001-v1:0"],
        chain: [
          { provider: anthropic, model: "claude-sonnet-4-5" },
          { provider: bedrock, model: "anthropic.claude-haiku-4-5-20251001-v1:0" },
        ],
      },
      settle: () => undefined,
    });
    listener.upstreamHeaders?.(1, {});
    listener.attempted?.({ attempt: 1, model: "claude-sonnet-4-5", provider: anthropic, status: 529, serverAddress: "api.anthropic.com", retried: true });
    listener.upstreamHeaders?.(2, {});
    listener.attempted?.({ attempt: 2, model: "anthropic.claude-haiku-4-5-20251001-v1:0", provider: bedrock, status: 200, serverAddress: "bedrock-runtime.us-east-1.amazonaws.com", retried: false });
    listener.ended({ outcome: "completed", status: 200, errorCode: null, row: row({ provider: "bedrock", model: "anthropic.claude-haiku-4-5-20251001-v1:0", attempts: 2 }) });
    const { clients } = spans();
    expect(clients.map((c) => c.attributes["gen_ai.provider.name"])).toEqual(["anthropic", "aws.bedrock"]);
  });

  it("an upstream failure sets error.type and the error status on both spans", () => {
    const listener = start();
    listener.identified?.(caller);
    listener.classified?.(chat);
    listener.upstreamHeaders?.(1, {});
    listener.attempted?.({ attempt: 1, model: "claude-sonnet-4-5", status: 0, serverAddress: "api.anthropic.com", retried: false });
    listener.ended({
      outcome: "upstream_failed",
      status: 502,
      errorCode: "upstream_unavailable",
      row: row({ input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_5m_tokens: 0, cache_write_1h_tokens: 0, reasoning_tokens: 0, status: 502, outcome: "upstream_failed" }),
    });
    const { server, clients } = spans();
    expect(server.attributes).toMatchObject({ "error.type": "upstream_unavailable", "http.response.status_code": 502, "gatehouse.outcome": "upstream_failed", "gen_ai.usage.input_tokens": 0 });
    expect(server.status).toMatchObject({ code: SpanStatusCode.ERROR, message: "upstream_unavailable" });
    expect(clients[0]!.attributes["error.type"]).toBe("upstream_unavailable");
    expect(clients[0]!.status.code).toBe(SpanStatusCode.ERROR);
  });

  it("a request refused before authentication is a span too: its route, the status and error.type, no caller", () => {
    const listener = start();
    listener.ended({ outcome: "not_forwarded", status: 401, errorCode: "unauthenticated", row: undefined });
    const { server, clients } = spans();
    expect(server.name).toBe("POST /anthropic/*");
    expect(server.attributes).toMatchObject({ "error.type": "unauthenticated", "http.response.status_code": 401, "http.route": "/anthropic/*", "gen_ai.provider.name": "anthropic" });
    expect(server.attributes["enduser.pseudo.id"]).toBeUndefined();
    // A 4xx is the client's error, not the server's (HTTP server span status rules).
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
    expect(clients).toHaveLength(0);
  });

  it("an unknown method does not become a span name", () => {
    start({ method: "BREW" }).ended({ outcome: "not_forwarded", status: 405, errorCode: "method_not_allowed", row: undefined });
    expect(spans().server.name).toBe("HTTP /anthropic/*");
    expect(spans().server.attributes["http.request.method"]).toBe("_OTHER");
  });

  it("names operations by the convention: generate_content for Gemini, embeddings, and the endpoint's own name otherwise", () => {
    const cases: Array<[RequestShape, string]> = [
      [{ endpoint: "generate", format: "gemini", model: "gemini-2.5-flash", streaming: false, metered: true }, "generate_content gemini-2.5-flash"],
      [{ endpoint: "embeddings", format: "openai-embeddings", model: "text-embedding-3-small", streaming: false, metered: true }, "embeddings text-embedding-3-small"],
      [{ endpoint: "count_tokens", format: "none", model: "claude-sonnet-4-5", streaming: false, metered: false }, "count_tokens claude-sonnet-4-5"],
      [{ endpoint: "models.list", format: "none", model: undefined, streaming: false, metered: false }, "models.list"],
    ];
    for (const [shape, name] of cases) {
      exporter.reset();
      const listener = start({ provider: providerById("google-ai-studio") });
      listener.classified?.(shape);
      listener.ended({ outcome: "completed", status: 200, errorCode: null, row: row() });
      const { server } = spans();
      expect(server.name).toBe(name);
      expect(server.attributes["gen_ai.provider.name"]).toBe("gcp.gemini");
      // Unmetered endpoints carry no token counts.
      expect(server.attributes["gen_ai.usage.output_tokens"] !== undefined).toBe(shape.metered);
    }
  });

  it("a client that aborts ends the spans with error.type client_aborted but no server error", () => {
    const listener = start();
    listener.classified?.(chat);
    listener.upstreamHeaders?.(1, {});
    listener.attempted?.({ attempt: 1, model: "claude-sonnet-4-5", status: 200, serverAddress: "api.anthropic.com", retried: false });
    listener.ended({ outcome: "client_aborted", status: 200, errorCode: null, row: row({ outcome: "client_aborted", estimated: 1 }) });
    const { server, clients } = spans();
    expect(server.attributes).toMatchObject({ "error.type": "client_aborted", "gatehouse.usage.estimated": true });
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
    expect(clients).toHaveLength(1);
  });
});
