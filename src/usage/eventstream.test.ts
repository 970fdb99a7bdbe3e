import { EventStreamCodec } from "@smithy/eventstream-codec";
import { describe, expect, it } from "vitest";
import { createUsageReader } from "./reader.ts";

/** Bedrock's frames, encoded with AWS's codec (what the real service and the fake send). */
const codec = new EventStreamCodec(
  (bytes) => new TextDecoder().decode(bytes),
  (text) => new TextEncoder().encode(text),
);
const str = (value: string) => ({ type: "string" as const, value });
const event = (type: string, payload: unknown): Uint8Array => codec.encode({ headers: { ":event-type": str(type), ":content-type": str("application/json"), ":message-type": str("event") }, body: new TextEncoder().encode(JSON.stringify(payload)) });
const chunk = (anthropicEvent: unknown): Uint8Array => event("chunk", { bytes: Buffer.from(JSON.stringify(anthropicEvent)).toString("base64"), p: "abc" });
const exception = (type: string): Uint8Array => codec.encode({ headers: { ":exception-type": str(type), ":content-type": str("application/json"), ":message-type": str("exception") }, body: new TextEncoder().encode('{"message":"boom"}') });

function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Feeds bytes in pieces of `size` (1 = every byte boundary). */
function read(format: "bedrock-invoke" | "bedrock-converse", bytes: Uint8Array, size: number) {
  const reader = createUsageReader(format, { streaming: true });
  for (let at = 0; at < bytes.byteLength; at += size) reader.push(bytes.slice(at, at + size));
  return reader.finish();
}

const invokeStream = join([
  chunk({
    type: "message_start",
    message: { model: "claude-sonnet-4-5-20250929", usage: { input_tokens: 10, cache_read_input_tokens: 20, cache_creation_input_tokens: 30, cache_creation: { ephemeral_5m_input_tokens: 10, ephemeral_1h_input_tokens: 20 }, output_tokens: 1 } },
  }),
  chunk({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "hello" } }),
  chunk({ type: "message_delta", usage: { output_tokens: 5 } }),
  chunk({ type: "message_stop", "amazon-bedrock-invocationMetrics": { inputTokenCount: 11, outputTokenCount: 7, cacheReadInputTokenCount: 21, cacheWriteInputTokenCount: 31, invocationLatency: 1, firstByteLatency: 1 } }),
]);

describe("event-stream usage (Bedrock)", () => {
  it("reads InvokeModelWithResponseStream however the bytes are split; Bedrock's invocation metrics win, Anthropic's 1-hour split is kept", () => {
    for (const size of [1, 3, 7, 64, invokeStream.byteLength]) {
      const report = read("bedrock-invoke", invokeStream, size);
      expect(report.readerError).toBeUndefined();
      expect(report.sawFinalUsage).toBe(true);
      expect(report.model).toBe("claude-sonnet-4-5-20250929");
      expect(report.usage).toEqual({ inputTokens: 11, outputTokens: 7, cacheReadTokens: 21, cacheWrite5mTokens: 11, cacheWrite1hTokens: 20, reasoningTokens: 0 });
    }
  });

  it("without the metrics (a stream cut before its last chunk) keeps Anthropic's own counts, not final", () => {
    const cut = join([chunk({ type: "message_start", message: { usage: { input_tokens: 10, output_tokens: 1 } } }), chunk({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "he" } })]);
    const report = read("bedrock-invoke", cut.slice(0, cut.byteLength - 5), 4);
    expect(report.sawFinalUsage).toBe(false);
    expect(report.usage.inputTokens).toBe(10);
  });

  it("reads ConverseStream's metadata usage (cache apart from inputTokens, or inside it when totalTokens says so)", () => {
    const apart = join([
      event("messageStart", { role: "assistant" }),
      event("contentBlockDelta", { delta: { text: "hi" }, contentBlockIndex: 0 }),
      event("metadata", { usage: { inputTokens: 100, outputTokens: 9, cacheReadInputTokens: 50, cacheWriteInputTokens: 5, totalTokens: 164 }, metrics: { latencyMs: 3 } }),
    ]);
    expect(read("bedrock-converse", apart, 5).usage).toMatchObject({ inputTokens: 100, outputTokens: 9, cacheReadTokens: 50, cacheWrite5mTokens: 5 });
    const inside = event("metadata", { usage: { inputTokens: 100, outputTokens: 9, cacheReadInputTokens: 50, totalTokens: 109 } });
    expect(read("bedrock-converse", inside, 8).usage).toMatchObject({ inputTokens: 50, cacheReadTokens: 50 });
  });

  it("an exception frame ends the stream: later usage is not read", () => {
    const report = read("bedrock-converse", join([exception("throttlingException"), event("metadata", { usage: { inputTokens: 1, outputTokens: 1 } })]), 16);
    expect(report.sawFinalUsage).toBe(false);
  });

  it("a corrupt frame (bad checksum) stops reading without throwing; the reader says why", () => {
    const bytes = invokeStream.slice();
    bytes[20] = (bytes[20] ?? 0) ^ 0xff;
    const report = read("bedrock-invoke", bytes, 9);
    expect(report.readerError).toMatch(/checksum/);
    expect(report.sawFinalUsage).toBe(false);
  });

  it("a length prefix no frame can have is refused rather than buffered", () => {
    const report = read("bedrock-invoke", new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]), 8);
    expect(report.readerError).toMatch(/frame length/);
  });

  it("a streaming endpoint answered with a JSON error body is read as JSON", () => {
    const report = read("bedrock-invoke", new TextEncoder().encode('{"message":"Too many requests"}'), 4);
    expect(report.readerError).toBeUndefined();
    expect(report.sawFinalUsage).toBe(false);
  });
});
