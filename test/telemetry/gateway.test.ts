// Tracing through the whole gateway: a real node:http gateway in front of the wire-exact fake
// providers, exporting over OTLP/HTTP to a local receiver that decodes what it gets.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { defaultText } from "../fake-upstream/index.ts";
import { CLIENT_TOKEN, KEYS, devCallerId, readChunks, rowWhenWritten, startHarness, type Harness } from "../gateway/harness.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "./otlp-receiver.ts";
import { connectResponsesSocket, responseCreate } from "../support/responses-socket-client.ts";

const CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";
const CLIENT_TRACEPARENT = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;
const OTLP_KEY = "otlp-collector-key-7f3a9";
const PROMPT = "the secret plan is marzipan-42";

let receiver: OtlpReceiver;
let h: Harness;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
  // A short batch delay so spans arrive while the test waits; the shutdown test checks the flush.
  h = await startHarness({}, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_HEADERS: `x-collector-key=${OTLP_KEY}`, OTEL_BSP_SCHEDULE_DELAY: "50" });
});
afterAll(async () => {
  await h?.close();
  await receiver?.close();
});
beforeEach(() => {
  h.fake.reset();
});

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${h.gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}`, ...headers }, body: JSON.stringify(body) });
}

/** The SERVER span of a request and its CLIENT children, once exported. */
async function spansOf(requestId: string): Promise<{ server: ReceivedSpan; clients: ReceivedSpan[] }> {
  const all = await receiver.waitFor((spans) => {
    const server = spans.find((s) => s.attributes["gatehouse.request_id"] === requestId);
    return server !== undefined && (server.attributes["gatehouse.outcome"] === "not_forwarded" || spans.some((s) => s.parentSpanId === server.spanId));
  });
  const server = all.find((s) => s.attributes["gatehouse.request_id"] === requestId) as ReceivedSpan;
  return { server, clients: all.filter((s) => s.parentSpanId === server.spanId) };
}

describe("tracing through the gateway", () => {
  it("a non-streamed chat: a SERVER span in the client's trace with the ledger row's exact tokens, a CLIENT child, and the upstream gets the child's traceparent", async () => {
    h.fake.enqueue({ usage: { input: 321, output: 54, cacheRead: 100 }, model: "gpt-4o-mini-2024-07-18" });
    const res = await post("/openai/v1/chat/completions", { model: "gpt-4o-mini", messages: [{ role: "user", content: PROMPT }] }, { traceparent: CLIENT_TRACEPARENT, tracestate: "vendor=abc" });
    expect(res.status).toBe(200);
    await res.text();
    const requestId = res.headers.get("x-gatehouse-request-id") as string;
    const row = await rowWhenWritten(h, requestId);
    const { server, clients } = await spansOf(requestId);

    expect(server).toMatchObject({ kind: "server", name: "chat gpt-4o-mini", traceId: CLIENT_TRACE, parentSpanId: CLIENT_SPAN });
    expect(server.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "gpt-4o-mini",
      "gen_ai.response.model": row.model,
      "gen_ai.usage.input_tokens": row.input_tokens + row.cache_read_tokens + row.cache_write_5m_tokens + row.cache_write_1h_tokens,
      "gen_ai.usage.output_tokens": row.output_tokens,
      "gen_ai.usage.cache_read.input_tokens": row.cache_read_tokens,
      "gatehouse.cost_usd": row.cost_usd,
      "http.response.status_code": 200,
      "enduser.pseudo.id": await devCallerId(h),
    });
    // The fake's counts as the ledger read them (OpenAI's prompt_tokens of 421 includes the 100 cached).
    expect([row.input_tokens, row.cache_read_tokens, row.output_tokens]).toEqual([321, 100, 54]);
    expect(server.resource["service.name"]).toBe("gatehouse");

    expect(clients).toHaveLength(1);
    const client = clients[0] as ReceivedSpan;
    expect(client).toMatchObject({ kind: "client", traceId: CLIENT_TRACE });
    expect(client.attributes).toMatchObject({ "server.address": "127.0.0.1", "server.port": h.fake.port, "http.response.status_code": 200 });

    const upstream = h.fake.requests[0];
    expect(upstream?.headers["traceparent"]).toBe(`00-${CLIENT_TRACE}-${client.spanId}-01`);
    expect(upstream?.headers["tracestate"]).toBe("vendor=abc");
  });

  it("a streamed Anthropic message: the streamed usage, cache writes included, on the SERVER span", async () => {
    h.fake.enqueue({ usage: { input: 1200, output: 345, cacheRead: 2000, cacheWrite5m: 150, cacheWrite1h: 80 }, chunks: 4 });
    const res = await post("/anthropic/v1/messages", { model: "claude-sonnet-4-5", max_tokens: 100, stream: true, messages: [{ role: "user", content: PROMPT }] }, { "anthropic-version": "2023-06-01" });
    expect(res.status).toBe(200);
    await readChunks(res);
    const requestId = res.headers.get("x-gatehouse-request-id") as string;
    const row = await rowWhenWritten(h, requestId);
    const { server, clients } = await spansOf(requestId);
    expect([row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_5m_tokens, row.cache_write_1h_tokens]).toEqual([1200, 345, 2000, 150, 80]);
    expect(server.name).toBe("chat claude-sonnet-4-5");
    expect(server.attributes).toMatchObject({
      "gen_ai.provider.name": "anthropic",
      "gen_ai.request.stream": true,
      "gen_ai.usage.input_tokens": 1200 + 2000 + 150 + 80,
      "gen_ai.usage.output_tokens": 345,
      "gen_ai.usage.cache_read.input_tokens": 2000,
      "gen_ai.usage.cache_creation.input_tokens": 230,
    });
    expect(typeof server.attributes["gen_ai.response.time_to_first_chunk"]).toBe("number");
    // Without a client traceparent the request starts its own trace, and the upstream joins it.
    expect(server.parentSpanId).toBeUndefined();
    expect(h.fake.requests[0]?.headers["traceparent"]).toBe(`00-${server.traceId}-${clients[0]?.spanId}-01`);
  });

  it("an upstream error: error.type and the error status on both spans", async () => {
    h.fake.enqueue({ status: 500 });
    const res = await post("/openai/v1/chat/completions", { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    expect(res.status).toBe(500);
    await res.text();
    const { server, clients } = await spansOf(res.headers.get("x-gatehouse-request-id") as string);
    expect(server.attributes["http.response.status_code"]).toBe(500);
    expect(server.attributes["error.type"]).toBeDefined();
    expect(server.status.code).toBe("error");
    expect(clients[0]?.attributes["error.type"]).toBe("500");
    expect(clients[0]?.status.code).toBe("error");
  });

  it("an authentication failure is a span: the route, 401 and error.type, no caller, no CLIENT span, nothing forwarded", async () => {
    const res = await fetch(`${h.gateway.url}/openai/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer wrong-token-0123456789", traceparent: CLIENT_TRACEPARENT }, body: "{}" });
    expect(res.status).toBe(401);
    const { server, clients } = await spansOf(res.headers.get("x-gatehouse-request-id") as string);
    expect(server).toMatchObject({ name: "POST /openai/*", traceId: CLIENT_TRACE });
    expect(server.attributes).toMatchObject({ "http.response.status_code": 401, "error.type": "unauthenticated" });
    expect(server.attributes["enduser.pseudo.id"]).toBeUndefined();
    expect(clients).toHaveLength(0);
    expect(h.fake.requests).toHaveLength(0);
  });

  it("a malformed traceparent starts a new trace and is not forwarded; nor is its tracestate", async () => {
    const bad = `00-${CLIENT_TRACE.toUpperCase()}-${CLIENT_SPAN}-01`;
    const res = await post("/openai/v1/chat/completions", { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }, { traceparent: bad, tracestate: "vendor=abc" });
    expect(res.status).toBe(200);
    await res.text();
    const { server, clients } = await spansOf(res.headers.get("x-gatehouse-request-id") as string);
    expect(server.traceId).not.toBe(CLIENT_TRACE);
    expect(server.parentSpanId).toBeUndefined();
    const upstream = h.fake.requests[0];
    expect(upstream?.headers["traceparent"]).toBe(`00-${server.traceId}-${clients[0]?.spanId}-01`);
    expect(upstream?.headers["tracestate"]).toBeUndefined();
  });

  it("exports no email, token, key, prompt or completion text, and sends the collector's key only to the collector", async () => {
    // Everything exported so far (the requests above) plus one more, flushed.
    const res = await post("/openai/v1/chat/completions", { model: "gpt-4o-mini", messages: [{ role: "user", content: PROMPT }] });
    await res.text();
    await spansOf(res.headers.get("x-gatehouse-request-id") as string);
    const exported = receiver.rawBodies.join("\n");
    expect(exported.length).toBeGreaterThan(1000);
    for (const secret of ["dev@localhost", CLIENT_TOKEN, KEYS.openai, KEYS.anthropic, KEYS.google, PROMPT, "marzipan", defaultText, OTLP_KEY, "wrong-token-0123456789"]) expect(exported, secret).not.toContain(secret);
    expect(receiver.requests.every((r) => r.headers["x-collector-key"] === OTLP_KEY)).toBe(true);
    for (const request of h.fake.requests) expect(JSON.stringify(request.headers)).not.toContain(OTLP_KEY);
  });
});

describe("tracing off", () => {
  it("registers no observer: the gateway has no tracing, and the client's traceparent passes through unchanged", async () => {
    const off = await startHarness();
    try {
      expect(off.gateway.tracing).toBeUndefined();
      const res = await fetch(`${off.gateway.url}/openai/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}`, traceparent: CLIENT_TRACEPARENT, tracestate: "vendor=abc" },
        body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(res.status).toBe(200);
      await res.text();
      expect(off.fake.requests[0]?.headers["traceparent"]).toBe(CLIENT_TRACEPARENT);
      expect(off.fake.requests[0]?.headers["tracestate"]).toBe("vendor=abc");
    } finally {
      await off.close();
    }
  });
});

describe("shutdown", () => {
  it("exports the spans still queued when the gateway closes", async () => {
    const local = await startOtlpReceiver();
    // A batch delay far past the test: only the close can send them.
    const g = await startHarness({}, { OTEL_EXPORTER_OTLP_ENDPOINT: local.url, OTEL_BSP_SCHEDULE_DELAY: "600000" });
    try {
      const res = await fetch(`${g.gateway.url}/openai/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}` },
        body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
      });
      await res.text();
      const requestId = res.headers.get("x-gatehouse-request-id") as string;
      await rowWhenWritten(g, requestId);
      expect(local.spans).toHaveLength(0);
      await g.close();
      const spans = await local.waitFor((s) => s.some((span) => span.attributes["gatehouse.request_id"] === requestId));
      expect(spans.filter((s) => s.attributes["gatehouse.request_id"] === requestId)).toHaveLength(1);
    } finally {
      await local.close();
    }
  });
});

describe("tracing the Responses WebSocket", () => {
  it("a Responses WebSocket: the upstream handshake is a CLIENT span of the upgrade, and the upstream gets its traceparent", async () => {
    const c = await connectResponsesSocket(`${h.gateway.url.replace(/^http/, "ws")}/openai/v1/responses`, CLIENT_TOKEN);
    c.ws.send(responseCreate({ model: "gpt-5" }));
    await c.next("response.completed");
    c.ws.close();
    const handshake = h.fake.requests.find((r) => r.method === "GET" && r.path === "/v1/responses");
    const traceparent = handshake?.headers["traceparent"] ?? "";
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    const [, traceId, spanId] = traceparent.split("-");
    const all = await receiver.waitFor((spans) => spans.some((s) => s.spanId === spanId));
    const client = all.find((s) => s.spanId === spanId) as ReceivedSpan;
    expect(client).toMatchObject({ kind: "client", traceId });
    const server = all.find((s) => s.spanId === client.parentSpanId);
    expect(server?.kind).toBe("server");
    expect(server?.attributes["http.request.method"] ?? server?.attributes["http.method"] ?? "GET").toBe("GET");
  });
});
