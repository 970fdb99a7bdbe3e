import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseSse } from "../fake-upstream/test-helpers.ts";
import { CLIENT_TOKEN, KEYS, devCallerId, ledgerRows, readChunks, snapshotCost, startHarness, type Harness } from "./harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.fake.reset();
});

const perM = (tokens: number, price: number) => (tokens * price) / 1_000_000;

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${h.gateway.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function lastRow() {
  const rows = await ledgerRows(h);
  const row = rows.at(-1);
  if (!row) throw new Error("no ledger row");
  return row;
}

function assertNoClientCredentialForwarded(): void {
  for (const request of h.fake.requests) {
    const text = JSON.stringify(request.headers) + request.bodyText + request.search;
    expect(text).not.toContain(CLIENT_TOKEN);
    expect(request.headers["cf-access-token"]).toBeUndefined();
    expect(request.headers["cookie"]).toBeUndefined();
  }
}

describe("anthropic route", () => {
  const usage = { input: 1200, output: 345, cacheRead: 20000, cacheWrite5m: 1500, cacheWrite1h: 800 };
  const price = snapshotCost("anthropic", "claude-sonnet-4-5");
  const expectedCost = perM(1200, price.input) + perM(345, price.output) + perM(20000, price.cache_read ?? 0) + perM(1500, price.cache_write ?? 0) + perM(800, price.input * 2);

  it("streams a message, injects the real key, sends the anonymous id, and records exact usage and cost", async () => {
    h.fake.enqueue({ usage, chunks: 4 });
    const res = await post(
      "/anthropic/v1/messages",
      { model: "claude-sonnet-4-5", max_tokens: 100, stream: true, metadata: { user_id: "alice@example.com" }, messages: [{ role: "user", content: "hi" }] },
      { "x-api-key": "", "cf-access-token": CLIENT_TOKEN, "anthropic-version": "2023-06-01", "anthropic-beta": "prompt-caching-2024-07-31", cookie: "a=b" },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const { text } = await readChunks(res);
    expect(text).toContain("event: message_stop");
    const seen = h.fake.requests[0];
    expect(seen?.headers["x-api-key"]).toBe(KEYS.anthropic);
    expect(seen?.headers["anthropic-beta"]).toBe("prompt-caching-2024-07-31");
    const sentBody = JSON.parse(seen?.bodyText ?? "{}") as { metadata: { user_id: string } };
    // The client's email-shaped user id is replaced by the anonymous id.
    const anonymousId = await devCallerId(h);
    expect(anonymousId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(sentBody.metadata.user_id).toBe(anonymousId);
    expect(seen?.headers["x-gatehouse-user-id"]).toBe(anonymousId);
    expect(seen?.bodyText).not.toContain("dev@localhost");
    assertNoClientCredentialForwarded();
    const row = await lastRow();
    expect(row).toMatchObject({ caller_id: anonymousId, provider: "anthropic", model: "claude-sonnet-4-5", endpoint: "messages", streamed: 1, status: 200, outcome: "completed" });
    expect([row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_5m_tokens, row.cache_write_1h_tokens]).toEqual([1200, 345, 20000, 1500, 800]);
    expect(row.cost_usd).toBeCloseTo(expectedCost, 10);
    expect(row.ttfb_ms).toBeGreaterThan(0);
  });

  it("records the same usage from a non-streaming message", async () => {
    h.fake.enqueue({ usage });
    const res = await post("/anthropic/v1/messages", { model: "claude-sonnet-4-5", max_tokens: 100, messages: [{ role: "user", content: "hi" }] }, { "x-api-key": CLIENT_TOKEN, "anthropic-version": "2023-06-01" });
    expect(res.status).toBe(200);
    const json = (await res.json()) as { type: string; usage: { input_tokens: number } };
    expect(json.type).toBe("message");
    const row = await lastRow();
    expect([row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_5m_tokens, row.cache_write_1h_tokens]).toEqual([1200, 345, 20000, 1500, 800]);
    expect(row.streamed).toBe(0);
    expect(row.cost_usd).toBeCloseTo(expectedCost, 10);
  });

  it("passes count_tokens through (Claude Code needs it) and records a zero-cost row", async () => {
    const res = await post("/anthropic/v1/messages/count_tokens", { model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] }, { authorization: `Bearer ${CLIENT_TOKEN}`, "anthropic-version": "2023-06-01" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { input_tokens: number }).input_tokens).toBeGreaterThan(0);
    const row = await lastRow();
    expect(row).toMatchObject({ endpoint: "count_tokens", cost_usd: 0 });
  });
});

describe("openai routes", () => {
  const price = snapshotCost("openai", "gpt-5");

  it("chat stream without include_usage: the client sees no usage chunk, the ledger still gets exact usage", async () => {
    h.fake.enqueue({ usage: { input: 900, cacheRead: 100, output: 500, reasoning: 300 }, chunks: 3 });
    const res = await post("/openai/v1/chat/completions", { model: "gpt-5", stream: true, messages: [{ role: "user", content: "hi" }] }, { authorization: `Bearer ${CLIENT_TOKEN}` });
    expect(res.status).toBe(200);
    const { text } = await readChunks(res);
    expect(text).toContain("data: [DONE]");
    expect(text).not.toMatch(/"choices":\[\],"usage":\{/);
    expect(text).not.toMatch(/"prompt_tokens":1000/);
    const sent = JSON.parse(h.fake.requests[0]?.bodyText ?? "{}") as { stream_options: { include_usage: boolean }; safety_identifier: string };
    expect(sent.stream_options.include_usage).toBe(true);
    expect(sent.safety_identifier).toBe(await devCallerId(h));
    expect(h.fake.requests[0]?.headers["authorization"]).toBe(`Bearer ${KEYS.openai}`);
    const row = await lastRow();
    expect([row.input_tokens, row.cache_read_tokens, row.output_tokens, row.reasoning_tokens]).toEqual([900, 100, 500, 300]);
    expect(row.cost_usd).toBeCloseTo(perM(900, price.input) + perM(100, price.cache_read ?? 0) + perM(500, price.output), 10);
  });

  it("chat stream with include_usage: the client gets its usage chunk untouched", async () => {
    h.fake.enqueue({ usage: { input: 10, output: 5 } });
    const res = await post("/openai/chat/completions", { model: "gpt-5", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "hi" }] }, { authorization: `Bearer ${CLIENT_TOKEN}` });
    const { text } = await readChunks(res);
    expect(text).toMatch(/"choices":\[\]/);
    expect(text).toContain('"prompt_tokens":10');
    const row = await lastRow();
    expect([row.input_tokens, row.output_tokens]).toEqual([10, 5]);
  });

  it("responses API stream records usage from response.completed", async () => {
    h.fake.enqueue({ usage: { input: 4000, cacheRead: 1000, output: 800, reasoning: 500 } });
    const res = await post("/openai/v1/responses", { model: "gpt-5", stream: true, store: false, input: "hi" }, { authorization: `Bearer ${CLIENT_TOKEN}` });
    const { text } = await readChunks(res);
    expect(text).toContain("event: response.completed");
    const row = await lastRow();
    expect(row).toMatchObject({ endpoint: "responses", streamed: 1, outcome: "completed" });
    expect([row.input_tokens, row.cache_read_tokens, row.output_tokens, row.reasoning_tokens]).toEqual([4000, 1000, 800, 500]);
    expect(row.cost_usd).toBeCloseTo(perM(4000, price.input) + perM(1000, price.cache_read ?? 0) + perM(800, price.output), 10);
  });

  it("responses API JSON", async () => {
    h.fake.enqueue({ usage: { input: 40, output: 8 } });
    const res = await post("/openai/v1/responses", { model: "gpt-5", input: "hi" }, { authorization: `Bearer ${CLIENT_TOKEN}` });
    expect(((await res.json()) as { object: string }).object).toBe("response");
    const row = await lastRow();
    expect([row.input_tokens, row.output_tokens, row.streamed]).toEqual([40, 8, 0]);
  });
});

describe("google route", () => {
  const price = snapshotCost("google", "gemini-2.5-flash");

  it("SSE stream with cached and thinking tokens, key sent as x-goog-api-key, client key stripped", async () => {
    h.fake.enqueue({ usage: { input: 700, cacheRead: 300, output: 120, reasoning: 80 } });
    const res = await post("/google-ai-studio/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", { contents: [{ role: "user", parts: [{ text: "hi" }] }] }, { "x-goog-api-key": CLIENT_TOKEN });
    expect(res.status).toBe(200);
    await readChunks(res);
    const seen = h.fake.requests[0];
    expect(seen?.headers["x-goog-api-key"]).toBe(KEYS.google);
    expect(seen?.search).toBe("?alt=sse");
    assertNoClientCredentialForwarded();
    const row = await lastRow();
    expect(row).toMatchObject({ provider: "google-ai-studio", model: "gemini-2.5-flash", streamed: 1 });
    expect([row.input_tokens, row.cache_read_tokens, row.output_tokens, row.reasoning_tokens]).toEqual([700, 300, 120, 80]);
    expect(row.cost_usd).toBeCloseTo(perM(700, price.input) + perM(300, price.cache_read ?? 0) + perM(120, price.output), 10);
  });

  it("generateContent JSON, token in ?key= is accepted and never forwarded", async () => {
    h.fake.enqueue({ usage: { input: 50, output: 10 } });
    const res = await post(`/google-ai-studio/v1beta/models/gemini-2.5-flash:generateContent?key=${CLIENT_TOKEN}`, { contents: [{ parts: [{ text: "hi" }] }] }, { "x-goog-api-key": CLIENT_TOKEN });
    expect(res.status).toBe(200);
    expect(h.fake.requests[0]?.search).toBe("");
    const row = await lastRow();
    expect([row.input_tokens, row.output_tokens]).toEqual([50, 10]);
  });
});

describe("compat route", () => {
  it("forwards to the OpenAI-compatible server with its own key and prices with the config override", async () => {
    h.fake.enqueue({ usage: { input: 1000, output: 2000 } });
    const res = await post("/compat/chat/completions", { model: "local-llama", messages: [{ role: "user", content: "hi" }] }, { authorization: `Bearer ${CLIENT_TOKEN}` });
    expect(res.status).toBe(200);
    const sent = JSON.parse(h.fake.requests[0]?.bodyText ?? "{}") as { user: string; safety_identifier?: string };
    expect(sent.user).toBe(await devCallerId(h));
    expect(sent.safety_identifier).toBeUndefined();
    const row = await lastRow();
    expect(row.cost_usd).toBeCloseTo(perM(1000, 0.5) + perM(2000, 1.5), 10);
  });
});

describe("bad input and failures", () => {
  it("rejects a missing or wrong gateway token with 401 in the provider's shape, forwarding nothing", async () => {
    const missing = await post("/anthropic/v1/messages", { model: "claude-sonnet-4-5" }, { "anthropic-version": "2023-06-01" });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    const wrong = await post("/openai/v1/chat/completions", { model: "gpt-5" }, { authorization: "Bearer gh_wrong_token_xxxxxxxxxxxx" });
    expect(wrong.status).toBe(401);
    const body = await wrong.text();
    expect(JSON.parse(body)).toMatchObject({ error: { type: "invalid_request_error", code: "unauthenticated" } });
    expect(body).not.toContain("gh_wrong_token");
    const google = await post("/google-ai-studio/v1beta/models/gemini-2.5-flash:generateContent", {}, {});
    expect(await google.json()).toMatchObject({ error: { code: 401, status: "UNAUTHENTICATED" } });
    expect(h.fake.requests).toHaveLength(0);
  });

  it("malformed JSON gets a 400 in the provider's shape and is not forwarded", async () => {
    const res = await post("/anthropic/v1/messages", '{"model": "claude', { "x-api-key": CLIENT_TOKEN });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: expect.stringContaining("The request body is not valid JSON") } });
    expect(h.fake.requests).toHaveLength(0);
    const row = await lastRow();
    expect(row).toMatchObject({ status: 400, outcome: "not_forwarded", error_code: "bad_request" });
  });

  it("an oversized body gets 413 without being forwarded", async () => {
    const small = await startHarness({}, { GATEHOUSE_MAX_BODY_BYTES: "1024" });
    try {
      const res = await fetch(`${small.gateway.url}/openai/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}` },
        body: JSON.stringify({ model: "gpt-5", messages: [{ role: "user", content: "x".repeat(5000) }] }),
      });
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ error: { code: "payload_too_large" } });
      expect(small.fake.requests).toHaveLength(0);
    } finally {
      await small.close();
    }
  });

  it("passes upstream 4xx/5xx through in the provider's own shape, with no key in it", async () => {
    h.fake.enqueue({ status: 429, error: { type: "rate_limit_error", message: "Number of request tokens has exceeded your per-minute rate limit" } });
    const res = await post("/anthropic/v1/messages", { model: "claude-sonnet-4-5", max_tokens: 5, messages: [] }, { "x-api-key": CLIENT_TOKEN, "anthropic-version": "2023-06-01" });
    expect(res.status).toBe(429);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    expect(text).not.toContain(KEYS.anthropic);
    const row = await lastRow();
    expect(row).toMatchObject({ status: 429, error_code: "upstream_429" });

    h.fake.enqueue({ status: 503, error: { type: "UNAVAILABLE", message: "The model is overloaded." } });
    const g = await post("/google-ai-studio/v1beta/models/gemini-2.5-flash:generateContent", { contents: [] }, { "x-goog-api-key": CLIENT_TOKEN });
    expect(g.status).toBe(503);
    expect(await g.json()).toMatchObject({ error: { code: 503, status: "UNAVAILABLE" } });
  });

  it("an upstream that breaks mid-stream gives the client an error event and still records the usage seen", async () => {
    h.fake.enqueue({ usage: { input: 321, output: 50 }, chunks: 10, failAfterEvents: 4 });
    const res = await post("/anthropic/v1/messages", { model: "claude-sonnet-4-5", max_tokens: 100, stream: true, messages: [{ role: "user", content: "hi" }] }, { "x-api-key": CLIENT_TOKEN, "anthropic-version": "2023-06-01" });
    expect(res.status).toBe(200);
    const { text } = await readChunks(res);
    expect(text).toContain("event: error");
    expect(text).not.toContain("message_stop");
    const row = await lastRow();
    expect(row).toMatchObject({ outcome: "upstream_failed", error_code: "upstream_stream_broken" });
    expect(row.input_tokens).toBe(321);
    expect(row.cost_usd).toBeGreaterThan(0);
  });

  it("a client that disconnects aborts the upstream request and the ledger records the partial usage", async () => {
    h.fake.enqueue({ usage: { input: 777 }, endless: true, chunkDelayMs: 20 });
    const controller = new AbortController();
    const res = await post("/anthropic/v1/messages", { model: "claude-sonnet-4-5", max_tokens: 100, stream: true, messages: [{ role: "user", content: "hi" }] }, { "x-api-key": CLIENT_TOKEN, "anthropic-version": "2023-06-01" });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    controller.abort();
    await h.fake.whenAborted(1);
    await expect.poll(async () => (await lastRow()).outcome, { timeout: 30_000 }).toBe("client_aborted");
    const row = await lastRow();
    expect(row.input_tokens).toBe(777);
    expect(row.cost_usd).toBeGreaterThan(0);
  });

  it("an unreachable upstream gives a provider-shaped 502", async () => {
    const down = await startHarness();
    await down.fake.close();
    try {
      const res = await fetch(`${down.gateway.url}/openai/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}` },
        body: JSON.stringify({ model: "gpt-5", messages: [] }),
      });
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ error: { type: "server_error", code: "upstream_unavailable" } });
    } finally {
      await down.gateway.close();
    }
  });
});

describe("streaming pass-through", () => {
  // The fake sends what the test releases, and the test reads it through the gateway before
  // releasing more: a gateway that buffered would never deliver it (the read would wait and the
  // test time out). No delays, no arrival times measured against slack.
  const gate = () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    return { held, release };
  };
  const streamReader = (res: Response) => {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    return {
      get text() {
        return text;
      },
      /** Reads until `done(text)` holds; throws if the stream ends first. */
      async until(done: (text: string) => boolean): Promise<string> {
        while (!done(text)) {
          const { done: ended, value } = await reader.read();
          if (ended) throw new Error(`the stream ended before the condition held; got ${text}`);
          text += decoder.decode(value, { stream: true });
        }
        return text;
      },
    };
  };
  const deltas = (text: string) => parseSse(text).filter((m) => m.data !== "[DONE]" && /"content":"[^"]+"/.test(m.data)).length;

  it("delivers each upstream chunk as it is sent, not at the end", async () => {
    const gates = Array.from({ length: 4 }, gate);
    h.fake.enqueue({ chunks: 4, holdChunkUntil: (i) => gates[i]?.held ?? Promise.resolve() });
    const res = await post("/openai/v1/chat/completions", { model: "gpt-5", stream: true, messages: [{ role: "user", content: "hi" }] }, { authorization: `Bearer ${CLIENT_TOKEN}` });
    const stream = streamReader(res);
    // The role chunk reaches the client while every delta is still held upstream.
    await stream.until((text) => text.includes('"role":"assistant"'));
    expect(deltas(stream.text)).toBe(0);
    for (const [i, step] of gates.entries()) {
      step.release();
      await stream.until((text) => deltas(text) === i + 1);
      expect(deltas(stream.text)).toBe(i + 1);
    }
    await stream.until((text) => text.includes("[DONE]"));
  });

  it("opens a stream for the client before a slow first token", async () => {
    // The upstream sends its headers, then "thinks" until the test lets it answer: the client
    // has the stream open (fetch resolved on the headers) while no event exists yet.
    const thinking = gate();
    h.fake.enqueue({ holdFirstEventUntil: thinking.held });
    const res = await post("/openai/v1/chat/completions", { model: "gpt-5", stream: true, messages: [{ role: "user", content: "hi" }] }, { authorization: `Bearer ${CLIENT_TOKEN}` });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const stream = streamReader(res);
    thinking.release();
    await stream.until((text) => text.includes("[DONE]"));
    expect(deltas(stream.text)).toBeGreaterThan(0);
  });
});

describe("shutdown", () => {
  it("flushes every queued ledger row on close: none lost on a clean stop", async () => {
    const own = await startHarness({}, { GATEHOUSE_LEDGER_FLUSH_MS: "600000", GATEHOUSE_LEDGER_BATCH: "1000" });
    for (let i = 0; i < 25; i++) {
      const res = await fetch(`${own.gateway.url}/openai/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}` },
        body: JSON.stringify({ model: "gpt-5", messages: [{ role: "user", content: "hi" }] }),
      });
      await res.arrayBuffer();
    }
    // Nothing has been written yet: the rows wait in the batch.
    expect(own.gateway.ledger.queued).toBe(25);
    await own.close();
    const db = new Database(join(own.dir, "data", "gatehouse.db"), { readonly: true });
    const count = db.prepare("select count(*) as n from ledger").get() as { n: number };
    db.close();
    expect(count.n).toBe(25);
  });
});
