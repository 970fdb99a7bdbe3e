import { connect as connectTcp } from "node:net";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CLIENT_TOKEN, ledgerRows, startHarness, type Harness } from "./harness.ts";
import { connectResponsesSocket, responseCreate } from "../support/responses-socket-client.ts";

/**
 * Issue 12 item 3 on Node: the Responses WebSocket path keeps the same deadlines as HTTP
 * streams. A silent upstream mid-response, a silent client and a client that stopped reading
 * are each closed within their limit, and what a response used is recorded.
 */
const IDLE_MS = 800;
const WRITE_MS = 800;
let h: Harness;
/** The write deadline alone: the in-process fake takes a while to build a 24 MB answer, longer than IDLE_MS. */
let writes: Harness;
beforeAll(async () => {
  [h, writes] = await Promise.all([startHarness({}, { GATEHOUSE_UPSTREAM_IDLE_TIMEOUT_MS: String(IDLE_MS) }), startHarness({}, { GATEHOUSE_UPSTREAM_IDLE_TIMEOUT_MS: "60000", GATEHOUSE_CLIENT_WRITE_TIMEOUT_MS: String(WRITE_MS) })]);
});
afterAll(async () => {
  await Promise.all([h?.close(), writes?.close()]);
});
beforeEach(() => {
  h.fake.reset();
  writes.fake.reset();
});

const url = () => `${h.gateway.url.replace(/^http/, "ws")}/openai/v1/responses`;

async function responsesRows(count: number, g: Harness = h) {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    const rows = (await ledgerRows(g)).filter((r) => r.endpoint === "responses");
    if (rows.length >= count) return rows;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`fewer than ${count} responses rows`);
}

/** One masked client text frame (RFC 6455 §5.2), mask 0: a client the test controls byte by byte. */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const header = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([header, Buffer.alloc(4), payload]);
}

describe("Responses WebSocket deadlines (Node)", { timeout: 60_000 }, () => {
  it("a silent upstream mid-response: the client gets an error event and a 1011 close; the row is upstream_idle_timeout, estimated", async () => {
    const before = (await responsesRows(0)).length;
    h.fake.enqueue({ usage: { input: 80, output: 30 }, chunks: 3, chunkDelayMs: 120_000 });
    const c = await connectResponsesSocket(url(), CLIENT_TOKEN);
    const started = performance.now();
    c.ws.send(responseCreate({ model: "gpt-5" }));
    const error = await c.next("error");
    expect((error["error"] as { message: string }).message).toContain(`sent nothing for ${IDLE_MS} ms`);
    expect((await c.closed).code).toBe(1011);
    expect(performance.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 50);
    const rows = await responsesRows(before + 1);
    expect(rows.at(-1)).toMatchObject({ outcome: "upstream_failed", error_code: "upstream_idle_timeout", estimated: 1 });
    expect(rows.at(-1)?.input_tokens).toBeGreaterThan(0);
  });

  it("a silent client with nothing pending is closed (1000) after the idle timeout, and leaves no row", async () => {
    const before = (await ledgerRows(h)).length;
    const c = await connectResponsesSocket(url(), CLIENT_TOKEN);
    const closed = await c.closed;
    expect(closed).toEqual({ code: 1000, reason: "idle timeout" });
    // The upgrade itself writes no row; no response was asked for.
    expect((await ledgerRows(h)).length).toBe(before);
  });

  it("a client that stops reading is given up at the client-write deadline: client_aborted, client_write_timeout", async () => {
    // 24 MB in 64 KB deltas over ~2 s: the loopback socket buffers fill, frames pile up at
    // the gateway, and the response is still being generated when the write deadline passes.
    writes.fake.enqueue({ usage: { input: 10, output: 10 }, text: "x".repeat(24 * 1024 * 1024), chunks: 384, chunkDelayMs: 5 });
    const socket = connectTcp(writes.gateway.port, "127.0.0.1");
    socket.on("error", () => undefined);
    const key = randomBytes(16).toString("base64");
    socket.write([`GET /openai/v1/responses HTTP/1.1`, "host: 127.0.0.1", "upgrade: websocket", "connection: Upgrade", `sec-websocket-key: ${key}`, "sec-websocket-version: 13", `authorization: Bearer ${CLIENT_TOKEN}`, "", ""].join("\r\n"));
    // Read the 101 only, then never read again.
    await new Promise<void>((resolve) => socket.once("data", () => resolve()));
    socket.pause();
    socket.write(textFrame(responseCreate({ model: "gpt-5" })));
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    try {
      const rows = await responsesRows(1, writes);
      expect(rows.at(-1)).toMatchObject({ outcome: "client_aborted", error_code: "client_write_timeout" });
      socket.resume();
      await closed;
    } finally {
      socket.destroy();
    }
  });
});
