import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RequestEnd, RequestObserver, RequestStart } from "../../src/proxy/index.ts";
import { CLIENT_TOKEN, ledgerRows, startHarness, type Harness } from "./harness.ts";
import { rawRequest } from "../security/raw-http.ts";

/**
 * Issue 16: every request that reaches a provider route reports exactly one `ended` to the
 * observer, whatever way it ends: the attacker's list of refusals (no token, a bad token,
 * TRACE, an encoded path, an unknown endpoint, a wrong content type, a denied model, the
 * concurrency cap, a provider without a key), an unreachable upstream, an answer, a client
 * that leaves mid-stream and an upstream that cuts the stream. /metrics counts them all,
 * the authentication failures included.
 */
interface Seen {
  start: RequestStart;
  events: string[];
  ends: RequestEnd[];
}
const seen = new Map<string, Seen>();
const recorder: RequestObserver = {
  begin(start) {
    const s: Seen = { start, events: [], ends: [] };
    seen.set(start.requestId, s);
    return {
      identified: () => void s.events.push("identified"),
      classified: () => void s.events.push("classified"),
      admitted: () => void s.events.push("admitted"),
      attempted: (a) => void s.events.push(`attempted ${a.status}${a.retried ? " retried" : ""}`),
      firstByte: () => void s.events.push("firstByte"),
      ended: (end) => void s.ends.push(end),
    };
  },
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness(
    { observers: [recorder] },
    // One request in flight per caller; Google has no key (not_configured).
    { GATEHOUSE_MAX_CONCURRENT_PER_CALLER: "1", GEMINI_API_KEY: "" },
    ["policy:", "  groups:", "    dev:", '      models: ["openai/*", "compat/*"]'],
  );
});
afterAll(async () => {
  await h.close();
});

const auth = { authorization: `Bearer ${CLIENT_TOKEN}` };
const chatBody = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: "gpt-5", messages: [{ role: "user", content: "hi" }], ...extra });

/** The one `ended` of the request that got this response (waits for a streamed answer's end). */
async function endOf(res: Response | { headers: Record<string, string | string[] | undefined> }): Promise<{ end: RequestEnd; s: Seen }> {
  const id = res.headers instanceof Headers ? res.headers.get("x-gatehouse-request-id") : res.headers["x-gatehouse-request-id"];
  expect(typeof id).toBe("string");
  const s = seen.get(id as string);
  expect(s, `no begin for ${String(id)}`).toBeDefined();
  await expect.poll(() => s?.ends.length, { timeout: 20_000 }).toBeGreaterThan(0);
  return { end: (s as Seen).ends[0] as RequestEnd, s: s as Seen };
}

describe("one ended per request, on every path", () => {
  it("refusals before and at authentication end without a row, and /metrics counts them", async () => {
    const noToken = await fetch(`${h.gateway.url}/openai/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: chatBody() });
    expect(noToken.status).toBe(401);
    expect((await endOf(noToken)).end).toMatchObject({ outcome: "not_forwarded", status: 401, errorCode: "unauthenticated", row: undefined });

    const badToken = await fetch(`${h.gateway.url}/openai/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer gh_not_a_real_token_000000000" }, body: chatBody() });
    expect(badToken.status).toBe(401);
    const bad = await endOf(badToken);
    expect(bad.end).toMatchObject({ outcome: "not_forwarded", status: 401, errorCode: "unauthenticated", row: undefined });
    expect(bad.s.events).toEqual([]);

    const trace = await rawRequest(h.gateway.url, "TRACE", "/openai/v1/models", auth);
    expect(trace.status).toBe(405);
    expect((await endOf(trace)).end).toMatchObject({ outcome: "not_forwarded", status: 405, errorCode: "method_not_allowed", row: undefined });

    const metrics = await (await fetch(`${h.gateway.url}/metrics`, { headers: auth })).text();
    expect(metrics).toContain('gatehouse_denials_total{provider="openai",reason="unauthenticated"} 2');
    expect(metrics).toContain('gatehouse_denials_total{provider="openai",reason="method_not_allowed"} 1');
    expect(metrics).toContain('gatehouse_requests_total{provider="openai",model="unknown",outcome="not_forwarded",status="4xx"} 3');
  });

  it("refusals after authentication end once with a not_forwarded row, which the ledger keeps", async () => {
    const cases: Array<{ name: string; send: () => Promise<Response>; status: number; code: string }> = [
      { name: "encoded path", send: () => fetch(`${h.gateway.url}/openai/v1/chat%2Fcompletions`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: chatBody() }), status: 400, code: "bad_request" },
      { name: "unknown endpoint", send: () => fetch(`${h.gateway.url}/openai/v1/no-such-endpoint`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: chatBody() }), status: 404, code: "not_found" },
      { name: "wrong content type", send: () => fetch(`${h.gateway.url}/openai/v1/chat/completions`, { method: "POST", headers: { ...auth, "content-type": "text/plain" }, body: chatBody() }), status: 415, code: "unsupported_media_type" },
      {
        name: "policy denial",
        send: () =>
          fetch(`${h.gateway.url}/anthropic/v1/messages`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }) }),
        status: 403,
        code: "forbidden",
      },
      { name: "not configured", send: () => fetch(`${h.gateway.url}/google-ai-studio/v1beta/models`, { headers: { "x-goog-api-key": CLIENT_TOKEN } }), status: 503, code: "not_configured" },
    ];
    const ids: string[] = [];
    for (const c of cases) {
      const res = await c.send();
      expect(res.status, c.name).toBe(c.status);
      const { end } = await endOf(res);
      expect(end, c.name).toMatchObject({ outcome: "not_forwarded", status: c.status, errorCode: c.code });
      expect(end.row, c.name).toMatchObject({ outcome: "not_forwarded", status: c.status, error_code: c.code });
      ids.push(res.headers.get("x-gatehouse-request-id") as string);
    }
    const rows = await ledgerRows(h);
    for (const id of ids) expect(rows.filter((r) => r.request_id === id)).toHaveLength(1);
    const metrics = await (await fetch(`${h.gateway.url}/metrics`, { headers: auth })).text();
    expect(metrics).toContain('gatehouse_denials_total{provider="google-ai-studio",reason="not_configured"} 1');
    expect(metrics).toContain('gatehouse_denials_total{provider="anthropic",reason="forbidden"} 1');
  });

  it("the concurrency cap refuses after admission: one ended, one row", async () => {
    let release: () => void = () => undefined;
    h.fake.enqueue({ holdHeadersUntil: new Promise<void>((resolve) => (release = resolve)) });
    const held = fetch(`${h.gateway.url}/openai/v1/chat/completions`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: chatBody() });
    await expect.poll(() => h.fake.requests.length, { timeout: 20_000 }).toBeGreaterThan(0);
    const refused = await fetch(`${h.gateway.url}/openai/v1/chat/completions`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: chatBody() });
    expect(refused.status).toBe(429);
    const { end, s } = await endOf(refused);
    expect(end).toMatchObject({ outcome: "not_forwarded", status: 429, errorCode: "rate_limited" });
    expect(s.events).toEqual(["identified", "classified", "admitted"]);
    release();
    const answered = await held;
    expect(answered.status).toBe(200);
    await answered.text();
    const ok = await endOf(answered);
    expect(ok.end).toMatchObject({ outcome: "completed", status: 200, errorCode: null });
    expect(ok.s.events).toEqual(["identified", "classified", "admitted", "attempted 200", "firstByte"]);
  });

  it("an unreachable upstream ends once as upstream_failed with its attempt", async () => {
    const before = h.gateway.deps.config.current();
    const compat = before.providers.compat;
    if (!compat) throw new Error("the harness configures compat");
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    h.gateway.deps.config.replace({ ...before, providers: { ...before.providers, compat: { ...compat, upstream: "http://127.0.0.1:9/v1" } } });
    try {
      const res = await fetch(`${h.gateway.url}/compat/v1/chat/completions`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: chatBody({ model: "local-llama" }) });
      expect(res.status).toBe(502);
      const { end, s } = await endOf(res);
      expect(end).toMatchObject({ outcome: "upstream_failed", status: 502 });
      expect(end.row).toMatchObject({ outcome: "upstream_failed", attempts: 1, model: "local-llama" });
      expect(s.events).toEqual(["identified", "classified", "admitted", "attempted 0"]);
    } finally {
      h.gateway.deps.config.replace(before);
    }
  });

  it("a client that leaves mid-stream and an upstream that cuts the stream each end once", async () => {
    h.fake.enqueue({ endless: true, chunkDelayMs: 5 });
    const abort = new AbortController();
    const streaming = await fetch(`${h.gateway.url}/openai/v1/chat/completions`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: chatBody({ stream: true }), signal: abort.signal });
    const reader = (streaming.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    abort.abort();
    await reader.read().catch(() => undefined);
    expect((await endOf(streaming)).end).toMatchObject({ outcome: "client_aborted" });

    h.fake.enqueue({ failAfterEvents: 3 });
    const cut = await fetch(`${h.gateway.url}/openai/v1/chat/completions`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: chatBody({ stream: true }) });
    await cut.text();
    const { end } = await endOf(cut);
    expect(end).toMatchObject({ outcome: "upstream_failed" });
    expect(end.row).toMatchObject({ outcome: "upstream_failed" });
  });

  it("no request began without exactly one ended, and every row reached the ledger once", async () => {
    await expect.poll(() => [...seen.values()].every((s) => s.ends.length > 0), { timeout: 20_000 }).toBe(true);
    for (const s of seen.values()) expect(s.ends, `${s.start.method} ${s.start.provider.id} ${s.start.requestId}`).toHaveLength(1);
    const rows = await ledgerRows(h);
    const withRow = [...seen.values()].filter((s) => s.ends[0]?.row !== undefined).map((s) => s.start.requestId);
    expect(rows.map((r) => r.request_id).sort()).toEqual(withRow.sort());
  });
});

describe("the policy subscriber, in a whole server", () => {
  let governed: Harness;
  beforeAll(async () => {
    governed = await startHarness({}, {}, [
      "policy:",
      "  groups:",
      "    dev:",
      '      models: ["openai/*"]',
      "      budget: { perUser: { dailyUsd: 0.1 } }",
      "  routing:",
      "    aliases:",
      '      fast: ["openai/gpt-5", "openai/gpt-5-mini"]',
      "  circuitBreaker: { failureThreshold: 1, openSeconds: 600 }",
    ]);
  });
  afterAll(async () => {
    await governed.close();
  });
  const chat = (body: Record<string, unknown>) =>
    fetch(`${governed.gateway.url}/openai/v1/chat/completions`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], ...body }) });

  it("an attempt's 503 reaches the circuit breaker: the next request skips the failing model", async () => {
    governed.fake.enqueue({ status: 503 });
    const first = await chat({ model: "fast" });
    expect(first.status).toBe(200);
    await first.text();
    expect(governed.fake.requests.map((r) => (JSON.parse(r.bodyText) as { model: string }).model)).toEqual(["gpt-5", "gpt-5-mini"]);
    const second = await chat({ model: "fast" });
    await second.text();
    expect((JSON.parse(governed.fake.requests.at(-1)?.bodyText ?? "{}") as { model: string }).model).toBe("gpt-5-mini");
    expect(governed.fake.requests).toHaveLength(3);
  });

  it("each answer settles its reservation at the real cost: reservations of $0.08 under a $0.10 budget do not pile up", async () => {
    // Each request reserves 8,000 output tokens of gpt-5 ($0.08) and really costs a fraction of a cent.
    for (let i = 0; i < 3; i++) {
      const res = await chat({ model: "gpt-5", max_tokens: 8000 });
      expect(res.status, `request ${i + 1}`).toBe(200);
      await res.text();
      // The settle happens at the stream's end; the next admission must see it.
      const id = res.headers.get("x-gatehouse-request-id") as string;
      await expect.poll(async () => (await ledgerRows(governed)).some((r) => r.request_id === id), { timeout: 20_000 }).toBe(true);
    }
  });
});
