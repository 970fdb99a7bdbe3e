import { EventStreamCodec } from "@smithy/eventstream-codec";
import { describe, expect, it } from "vitest";
import { bedrockStreamAsAnthropicSse } from "./cross-provider-bedrock-stream.ts";

const codec = new EventStreamCodec(
  (bytes) => new TextDecoder().decode(bytes),
  (text) => new TextEncoder().encode(text),
);

function frame(headers: Record<string, string>, payload: unknown): Uint8Array {
  return codec.encode({ headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, { type: "string" as const, value: v }])), body: new TextEncoder().encode(JSON.stringify(payload)) });
}
const chunk = (event: unknown, raw?: string) => frame({ ":event-type": "chunk", ":content-type": "application/json", ":message-type": "event" }, { bytes: Buffer.from(raw ?? JSON.stringify(event), "utf8").toString("base64"), p: "abcdef" });
const exception = (type: string) => frame({ ":exception-type": type, ":content-type": "application/json", ":message-type": "exception" }, { message: "upstream words the client never sees" });

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Runs bytes through the transform in pieces of `size`, as the transport would. */
function run(bytes: Uint8Array, size: number): string {
  const t = bedrockStreamAsAnthropicSse();
  let out = "";
  for (let at = 0; at < bytes.byteLength; at += size) out += new TextDecoder().decode(t.transform(bytes.subarray(at, at + size)));
  return out + new TextDecoder().decode(t.flush());
}

const start = { type: "message_start", message: { id: "msg_1", type: "message", role: "assistant", model: "claude-haiku-4-5-20251001", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, output_tokens: 1 } } };
const delta = { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "hé\nllo" } };
const stop = { type: "message_stop", "amazon-bedrock-invocationMetrics": { inputTokenCount: 12, outputTokenCount: 8, invocationLatency: 812, firstByteLatency: 301 } };

describe("Bedrock's event stream re-framed as Anthropic's SSE", () => {
  it("one event per chunk, byte for byte, however the frames are split; the invocation metrics removed", () => {
    const bytes = concat([chunk(start), chunk(delta, JSON.stringify(delta)), chunk(stop)]);
    const expected = `event: message_start\ndata: ${JSON.stringify(start)}\n\nevent: content_block_delta\ndata: ${JSON.stringify(delta)}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n`;
    for (const size of [1, 3, 7, 64, bytes.byteLength]) expect(run(bytes, size)).toBe(expected);
  });

  it("a chunk whose JSON spans lines is sent on one data line", () => {
    const pretty = JSON.stringify({ type: "ping" }, null, 2);
    expect(run(chunk(undefined, pretty), 5)).toBe('event: ping\ndata: {"type":"ping"}\n\n');
  });

  it("an exception frame ends the stream with Anthropic's error event, in the gateway's words", () => {
    const out = run(concat([chunk(start), exception("throttlingException"), chunk(delta)]), 11);
    expect(out).toBe(
      `event: message_start\ndata: ${JSON.stringify(start)}\n\nevent: error\ndata: {"type":"error","error":{"type":"rate_limit_error","message":"The fallback provider (Amazon Bedrock) ended the stream with throttlingException; the answer is incomplete."}}\n\n`,
    );
    expect(out).not.toContain("upstream words");
  });

  it("a corrupt frame, a chunk that is not an event, or a stream ending inside a frame: an error event, nothing after it", () => {
    const good = chunk(start);
    const corrupt = chunk(delta);
    const at = corrupt.byteLength - 20;
    corrupt[at] = (corrupt[at] ?? 0) ^ 0xff;
    const corrupted = run(concat([good, corrupt, chunk(stop)]), 9);
    expect(corrupted.split("event: ")).toHaveLength(3);
    expect(corrupted).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"The fallback provider \(Amazon Bedrock\) sent a stream frame that could not be read/);

    const notAnEvent = run(concat([good, chunk(undefined, "not json"), chunk(stop)]), 64);
    expect(notAnEvent).toMatch(/event: error\n.*a stream chunk that is not an Anthropic event.*\n\n$/);
    expect(notAnEvent).not.toContain("message_stop");

    const cut = concat([good, chunk(stop)]);
    const truncated = run(cut.subarray(0, cut.byteLength - 5), 64);
    expect(truncated).toMatch(/^event: message_start\n.*\n\nevent: error\n.*in the middle of a frame.*\n\n$/);
  });
});
