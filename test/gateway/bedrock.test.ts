import { EventStreamCodec } from "@smithy/eventstream-codec";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CLIENT_TOKEN, devCallerId, rowWhenWritten, snapshotCost } from "./harness.ts";
import { AWS_SESSION_TOKEN, startCloudHarness, type CloudHarness } from "./bedrock-vertex-harness.ts";

/**
 * Amazon Bedrock through the gateway: the client sends its gateway token, the gateway signs
 * with SigV4 (the fake recomputes the signature with AWS's signer and refuses a wrong one),
 * reads the binary event stream for usage and prices the row at models.dev's amazon-bedrock prices.
 */
let h: CloudHarness;
beforeAll(async () => {
  h = await startCloudHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.fake.reset();
});

const SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0";
const perM = (tokens: number, price: number | undefined) => (tokens * (price ?? Number.NaN)) / 1_000_000;
const sonnet = snapshotCost("amazon-bedrock", SONNET);
/** Tokens of every kind, each a different count, so a swapped or dropped kind shows. */
const USAGE = { input: 1200, output: 345, cacheRead: 4000, cacheWrite5m: 600 };
const expectedCost = (price: typeof sonnet, u: typeof USAGE) => perM(u.input, price.input) + perM(u.output, price.output) + perM(u.cacheRead, price.cache_read) + perM(u.cacheWrite5m, price.cache_write);

const messagesBody = { anthropic_version: "bedrock-2023-05-31", max_tokens: 200, messages: [{ role: "user", content: "hi" }] };
const converseBody = { messages: [{ role: "user", content: [{ text: "hi" }] }], inferenceConfig: { maxTokens: 200 } };

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${h.gateway.url}/bedrock${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}`, ...headers }, body: JSON.stringify(body) });
}

/** The AWS SDK's spelling of the model in the path: ":" as %3A. */
const modelPath = (model: string, op: string): string => `/model/${encodeURIComponent(model)}/${op}`;

const codec = new EventStreamCodec(
  (bytes) => new TextDecoder().decode(bytes),
  (text) => new TextEncoder().encode(text),
);

/** Splits an event-stream body into frames and decodes each with AWS's codec (CRCs checked). */
function frames(bytes: Uint8Array): Array<{ type: string; messageType: string; json: Record<string, unknown> }> {
  const out: Array<{ type: string; messageType: string; json: Record<string, unknown> }> = [];
  let at = 0;
  while (at < bytes.byteLength) {
    const length = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0, false);
    const message = codec.decode(bytes.subarray(at, at + length));
    at += length;
    const header = (name: string): string => String(message.headers[name]?.value ?? "");
    out.push({ type: header(":event-type") || header(":exception-type"), messageType: header(":message-type"), json: JSON.parse(new TextDecoder().decode(message.body)) as Record<string, unknown> });
  }
  return out;
}

const requestId = (res: Response): string => res.headers.get("x-gatehouse-request-id") ?? "";

describe("bedrock InvokeModel", () => {
  it("signs the request with SigV4 (the fake verifies it), strips the caller's token, and meters Claude's answer exactly at the amazon-bedrock price", async () => {
    h.fake.enqueue({ usage: USAGE });
    const res = await post(modelPath(SONNET, "invoke"), messagesBody, { "x-amz-security-token": "client-chosen", "x-amzn-bedrock-performanceconfig-latency": "optimized" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { content: Array<{ text: string }>; usage: { input_tokens: number } };
    expect(body.content[0]?.text).toBe("Hello from the fake upstream.");
    const seen = h.fake.requests[0];
    expect(seen?.rawPath).toBe(`/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke`);
    expect(seen?.headers["authorization"]).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${h.fake.aws.accessKeyId}/\\d{8}/us-east-1/bedrock/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$`));
    expect(seen?.headers["x-amz-security-token"]).toBe(AWS_SESSION_TOKEN);
    expect(seen?.headers["x-amzn-bedrock-performanceconfig-latency"]).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain(CLIENT_TOKEN);
    expect(seen?.headers["x-gatehouse-user-id"]).toBe(await devCallerId(h));

    const row = await rowWhenWritten(h, requestId(res));
    expect(row).toMatchObject({ provider: "bedrock", model: SONNET, endpoint: "invoke", status: 200, outcome: "completed", streamed: 0, input_tokens: 1200, output_tokens: 345, cache_read_tokens: 4000, cache_write_5m_tokens: 600, estimated: 0, unpriced: 0 });
    expect(row.cost_usd).toBeCloseTo(expectedCost(sonnet, USAGE), 12);
  });

  it("relays InvokeModelWithResponseStream's event-stream frames as they come, and meters them from amazon-bedrock-invocationMetrics", async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    h.fake.enqueue({ usage: USAGE, chunks: 3, holdChunkUntil: (index) => (index === 1 ? held : Promise.resolve()) });
    const res = await post(modelPath(SONNET, "invoke-with-response-stream"), messagesBody);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/vnd.amazon.eventstream");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    // Unbuffered: the first delta is through the gateway while the fake still holds the second.
    const received: Uint8Array[] = [];
    let text = "";
    while (!text.includes("text_delta")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended early");
      received.push(value);
      text = frames(concat(received))
        .map((f) => Buffer.from(String(f.json["bytes"]), "base64").toString())
        .join("");
    }
    release();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      received.push(value);
    }
    const events = frames(concat(received)).map((f) => JSON.parse(Buffer.from(String(f.json["bytes"]), "base64").toString()) as { type: string; "amazon-bedrock-invocationMetrics"?: unknown });
    expect(events.map((e) => e.type)).toEqual(["message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]);
    expect(events.at(-1)?.["amazon-bedrock-invocationMetrics"]).toMatchObject({ inputTokenCount: 1200, outputTokenCount: 345, cacheReadInputTokenCount: 4000, cacheWriteInputTokenCount: 600 });

    const row = await rowWhenWritten(h, requestId(res));
    expect(row).toMatchObject({ provider: "bedrock", endpoint: "invoke_stream", streamed: 1, outcome: "completed", input_tokens: 1200, output_tokens: 345, cache_read_tokens: 4000, cache_write_5m_tokens: 600, estimated: 0 });
    expect(row.cost_usd).toBeCloseTo(expectedCost(sonnet, USAGE), 12);
  });

  it("prices a cross-region inference profile the catalog lists under its own id, and one it does not (apac.) as the model itself", async () => {
    h.fake.enqueue({ usage: USAGE });
    const us = await post(modelPath(`us.${SONNET}`, "invoke"), messagesBody);
    expect(us.status).toBe(200);
    const usRow = await rowWhenWritten(h, requestId(us));
    expect(usRow).toMatchObject({ model: `us.${SONNET}`, unpriced: 0 });
    expect(usRow.cost_usd).toBeCloseTo(expectedCost(snapshotCost("amazon-bedrock", `us.${SONNET}`), USAGE), 12);

    h.fake.enqueue({ usage: USAGE });
    const apac = await post(modelPath(`apac.${SONNET}`, "invoke"), messagesBody);
    expect(apac.status).toBe(200);
    expect(() => snapshotCost("amazon-bedrock", `apac.${SONNET}`)).toThrow();
    const apacRow = await rowWhenWritten(h, requestId(apac));
    expect(apacRow).toMatchObject({ model: `apac.${SONNET}`, unpriced: 0 });
    expect(apacRow.cost_usd).toBeCloseTo(expectedCost(sonnet, USAGE), 12);
  });
});

describe("bedrock Converse", () => {
  it("meters Converse's usage (cache reads and writes apart from inputTokens) exactly", async () => {
    h.fake.enqueue({ usage: USAGE });
    const res = await post(modelPath(SONNET, "converse"), converseBody);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { output: { message: { content: Array<{ text: string }> } }; usage: { totalTokens: number } };
    expect(body.output.message.content[0]?.text).toBe("Hello from the fake upstream.");
    expect(body.usage.totalTokens).toBe(1200 + 345 + 4000 + 600);
    const row = await rowWhenWritten(h, requestId(res));
    expect(row).toMatchObject({ endpoint: "converse", input_tokens: 1200, output_tokens: 345, cache_read_tokens: 4000, cache_write_5m_tokens: 600, estimated: 0 });
    expect(row.cost_usd).toBeCloseTo(expectedCost(sonnet, USAGE), 12);
  });

  it("meters ConverseStream from its metadata event", async () => {
    h.fake.enqueue({ usage: USAGE, chunks: 4 });
    const res = await post(modelPath(SONNET, "converse-stream"), converseBody);
    expect(res.status).toBe(200);
    const all = frames(new Uint8Array(await res.arrayBuffer()));
    expect(all.map((f) => f.type)).toEqual(["messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockDelta", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"]);
    const row = await rowWhenWritten(h, requestId(res));
    expect(row).toMatchObject({ endpoint: "converse_stream", streamed: 1, input_tokens: 1200, output_tokens: 345, cache_read_tokens: 4000, cache_write_5m_tokens: 600, estimated: 0 });
    expect(row.cost_usd).toBeCloseTo(expectedCost(sonnet, USAGE), 12);
  });

  it("counts a stream the upstream cut before its usage as the worst case: estimated, with the input Claude reported", async () => {
    h.fake.enqueue({ usage: USAGE, chunks: 6, failAfterEvents: 3 });
    const res = await post(modelPath(SONNET, "invoke-with-response-stream"), messagesBody);
    expect(res.status).toBe(200);
    await res.arrayBuffer().catch(() => undefined);
    const row = await rowWhenWritten(h, requestId(res));
    expect(row).toMatchObject({ outcome: "upstream_failed", estimated: 1, input_tokens: 1200, cache_read_tokens: 4000, cache_write_5m_tokens: 600 });
    expect(row.output_tokens).toBeGreaterThan(0);
    expect(row.cost_usd).toBeGreaterThan(perM(1200, sonnet.input));
  });

  it("cuts a ConverseStream cut mid-stream (no text error event inside a binary stream) and estimates it", async () => {
    h.fake.enqueue({ usage: USAGE, chunks: 6, failAfterEvents: 2 });
    const res = await post(modelPath(SONNET, "converse-stream"), converseBody);
    expect(res.status).toBe(200);
    const bytes = await res.arrayBuffer().then(
      (b) => new Uint8Array(b),
      () => undefined,
    );
    // Whatever arrived is whole frames of the upstream's, never gateway text spliced into the binary stream.
    if (bytes) expect(() => frames(bytes)).not.toThrow();
    const row = await rowWhenWritten(h, requestId(res));
    expect(row).toMatchObject({ outcome: "upstream_failed", estimated: 1 });
    expect(row.input_tokens).toBeGreaterThan(0);
  });
});

describe("bedrock CountTokens", () => {
  it("is forwarded signed and is not metered (free, generates nothing)", async () => {
    h.fake.enqueue({ usage: { input: 77 } });
    const res = await post(modelPath(SONNET, "count-tokens"), { input: { converse: converseBody } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ inputTokens: 77 });
    const row = await rowWhenWritten(h, requestId(res));
    expect(row).toMatchObject({ endpoint: "count_tokens", input_tokens: 0, output_tokens: 0, cost_usd: 0, estimated: 0 });
  });
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
