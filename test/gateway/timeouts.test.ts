import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CLIENT_TOKEN, ledgerRows, readChunks, startHarness, type Harness, rowWhenWritten } from "./harness.ts";

/**
 * Issue 11 item 3 and the body deadline of item 9: a stalled upstream, a client that never
 * reads and a body trickled in at a byte a second each end within their deadline, with
 * the provider's error event (or a 408 in its shape) and a ledger row. Deadlines are short
 * here; each test waits on the event itself with a generous bound, never on a fixed sleep.
 */
const IDLE_MS = 800;
const WRITE_MS = 800;
const BODY_MS = 1000;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({}, { GATEHOUSE_UPSTREAM_IDLE_TIMEOUT_MS: String(IDLE_MS), GATEHOUSE_CLIENT_WRITE_TIMEOUT_MS: String(WRITE_MS), GATEHOUSE_REQUEST_BODY_TIMEOUT_MS: String(BODY_MS) });
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.fake.reset();
});

const rowFor = (requestId: string) => rowWhenWritten(h, requestId);

const anthropicHeaders = { "x-api-key": CLIENT_TOKEN, "anthropic-version": "2023-06-01" };
const openaiHeaders = { authorization: `Bearer ${CLIENT_TOKEN}` };
const streams = [
  { name: "anthropic messages", path: "/anthropic/v1/messages", headers: anthropicHeaders, body: { model: "claude-sonnet-4-5", max_tokens: 100, stream: true, messages: [{ role: "user", content: "hi" }] }, errorMark: "event: error" },
  { name: "openai chat", path: "/openai/v1/chat/completions", headers: openaiHeaders, body: { model: "gpt-5", stream: true, messages: [{ role: "user", content: "hi" }] }, errorMark: '"code":"upstream_stream_failed"' },
  { name: "openai responses", path: "/openai/v1/responses", headers: openaiHeaders, body: { model: "gpt-5", stream: true, input: "hi" }, errorMark: 'event: error\ndata: {"type":"error","code":"upstream_stream_failed"' },
  { name: "gemini", path: "/google-ai-studio/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", headers: { "x-goog-api-key": CLIENT_TOKEN }, body: { contents: [{ role: "user", parts: [{ text: "hi" }] }] }, errorMark: '"status":"UNAVAILABLE"' },
] as const;

describe.each(streams)("a stalled upstream ($name)", ({ path, headers, body, errorMark }) => {
  it("ends with the provider's error event within the idle timeout, and a ledger row", async () => {
    // Headers and the opening events arrive, then the upstream goes silent for two minutes.
    h.fake.enqueue({ usage: { input: 40, output: 30 }, chunks: 3, chunkDelayMs: 120_000 });
    const abortedBefore = h.fake.aborted;
    const started = performance.now();
    const res = await fetch(`${h.gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    const { text } = await readChunks(res);
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(took).toBeLessThan(20_000);
    expect(text).toContain(errorMark);
    expect(text).toContain(`sent nothing for ${IDLE_MS} ms`);
    const row = await rowFor(res.headers.get("x-gatehouse-request-id") as string);
    expect(row).toMatchObject({ outcome: "upstream_failed", error_code: "upstream_idle_timeout", estimated: 1 });
    expect(row.input_tokens).toBeGreaterThan(0);
    // The upstream connection was closed, not left generating.
    await h.fake.whenAborted(abortedBefore + 1);
  });
});

/** A raw HTTP/1.1 request on a socket the test controls (node's fetch always reads). */
function rawRequest(path: string, headers: Record<string, string>, body: string | undefined, contentLength: number): Socket {
  const socket = connect(h.gateway.port, "127.0.0.1");
  const lines = [`POST ${path} HTTP/1.1`, "host: 127.0.0.1", "content-type: application/json", `content-length: ${contentLength}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), "", ""];
  socket.write(lines.join("\r\n"));
  if (body !== undefined) socket.write(body);
  return socket;
}

describe("a client that never reads", () => {
  it("is cut off within the client-write timeout; the upstream is stopped and the row written", async () => {
    // ~24 MB of answer in 64 KB deltas: more than the socket buffers between gateway and
    // client hold (over 8 MB on this loopback), so the gateway's writes back up and stay backed up.
    h.fake.enqueue({ usage: { input: 10, output: 10 }, text: "x".repeat(24 * 1024 * 1024), chunks: 384 });
    const body = JSON.stringify({ model: "gpt-5", stream: true, messages: [{ role: "user", content: "a long answer please" }] });
    const socket = rawRequest("/openai/v1/chat/completions", openaiHeaders, body, Buffer.byteLength(body));
    socket.pause();
    const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(performance.now())));
    const abortedBefore = h.fake.aborted;
    const started = performance.now();
    try {
      // The fake counts its upstream response aborted: the event to wait for (the test's timeout bounds it).
      await h.fake.whenAborted(abortedBefore + 1);
      const rows = await ledgerRows(h);
      const row = rows.find((r) => r.error_code === "client_write_timeout");
      expect(row).toMatchObject({ outcome: "client_aborted", estimated: 1 });
      expect(row?.output_tokens ?? 0).toBeGreaterThan(0);
      expect(performance.now() - started).toBeLessThan(30_000);
      // The gateway closed the connection (the client would see it once it read again).
      socket.resume();
      expect(await closed).toBeGreaterThan(started);
    } finally {
      socket.destroy();
    }
  });
});

describe("a request body sent at a byte a second", () => {
  const cases = [
    { name: "openai", path: "/openai/v1/chat/completions", headers: openaiHeaders, shape: { error: { type: "invalid_request_error", code: "request_timeout" } } },
    { name: "anthropic", path: "/anthropic/v1/messages", headers: anthropicHeaders, shape: { type: "error", error: { type: "timeout_error" } } },
  ] as const;

  it.each(cases)("ends with 408 in the provider's shape ($name), closes the connection, forwards nothing", async ({ path, headers, shape }) => {
    const body = JSON.stringify({ model: "gpt-5", stream: true, messages: [{ role: "user", content: "x".repeat(200) }] });
    const socket = rawRequest(path, headers, undefined, Buffer.byteLength(body));
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < body.length && !socket.destroyed) socket.write(body[sent++] as string);
    }, 250);
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      answer += chunk;
    });
    const started = performance.now();
    try {
      const closedAt = await new Promise<number>((resolve) => socket.once("close", () => resolve(performance.now())));
      expect(closedAt - started).toBeGreaterThanOrEqual(BODY_MS - 50);
      expect(closedAt - started).toBeLessThan(20_000);
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      const json = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as unknown;
      expect(json).toMatchObject(shape);
      expect(JSON.stringify(json)).toContain("GATEHOUSE_REQUEST_BODY_TIMEOUT_MS");
      expect(h.fake.requests).toHaveLength(0);
      const rows = await ledgerRows(h);
      expect(rows.at(-1)).toMatchObject({ status: 408, outcome: "not_forwarded", error_code: "request_timeout" });
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
  });
});

describe("a slow reader is not an idle upstream", () => {
  let slow: Harness;
  beforeAll(async () => {
    // The idle deadline is far shorter than the client's pause; the write deadline longer.
    slow = await startHarness({}, { GATEHOUSE_UPSTREAM_IDLE_TIMEOUT_MS: "500", GATEHOUSE_CLIENT_WRITE_TIMEOUT_MS: "20000" });
  });
  afterAll(async () => {
    await slow.close();
  });

  it("a client that stops reading for longer than the idle timeout, then reads on, gets the whole answer", async () => {
    const text = "y".repeat(24 * 1024 * 1024);
    slow.fake.enqueue({ usage: { input: 10, output: 10 }, text, chunks: 384 });
    const body = JSON.stringify({ model: "gpt-5", stream: true, messages: [{ role: "user", content: "a long answer please" }] });
    const socket = connect(slow.gateway.port, "127.0.0.1");
    socket.write([`POST /openai/v1/chat/completions HTTP/1.1`, "host: 127.0.0.1", "content-type: application/json", `content-length: ${Buffer.byteLength(body)}`, `authorization: Bearer ${CLIENT_TOKEN}`, "connection: close", "", ""].join("\r\n") + body);
    let received = 0;
    let first = true;
    const done = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (first) {
        // Hold the stream back for three idle timeouts while the gateway's writes back up.
        first = false;
        socket.pause();
        setTimeout(() => socket.resume(), 1500);
      }
    });
    await done;
    // Every delta arrived (the answer's text plus its JSON framing) and the stream ended normally.
    expect(received).toBeGreaterThan(text.length);
    const rows = await ledgerRows(slow);
    expect(rows.at(-1)).toMatchObject({ outcome: "completed", error_code: null, estimated: 0 });
  });
});
