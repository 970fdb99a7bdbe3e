import { describe, expect, it } from "vitest";
import { createInjectedUsageFilter } from "./injected-usage-filter.ts";
import { createUsageReader } from "./reader.ts";
import * as f from "../../test/support/usage-streams.ts";

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function run(chunks: Uint8Array[]): { out: Uint8Array[]; text: string } {
  const filter = createInjectedUsageFilter();
  const out = chunks.map((chunk) => filter.transform(chunk));
  out.push(filter.flush());
  const total = out.reduce((n, c) => n + c.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const piece of out) {
    joined.set(piece, offset);
    offset += piece.length;
  }
  return { out, text: decode(joined) };
}

const usageEvent = `data: ${JSON.stringify(f.openAiChatUsageChunk)}\n\n`;
const withoutUsage = f.openAiChatStream.replace(usageEvent, "");

describe("createInjectedUsageFilter", () => {
  it("removes exactly the usage-only event and nothing else", () => {
    expect(f.openAiChatStream).toContain(usageEvent);
    expect(run([f.encode(f.openAiChatStream)]).text).toBe(withoutUsage);
  });

  it("is byte-identical minus that event at every split point, the usage reader still sees it", () => {
    const bytes = f.encode(f.openAiChatStream);
    for (let at = 0; at <= bytes.length; at++) {
      const chunks = [bytes.subarray(0, at), bytes.subarray(at)];
      expect(run(chunks).text, `split at ${at}`).toBe(withoutUsage);
      const reader = createUsageReader("openai-chat", { streaming: true });
      for (const chunk of chunks) reader.push(chunk);
      expect(reader.finish().usage).toEqual(f.openAiChatStreamExpected);
    }
    expect(run(Array.from(bytes, (_, i) => bytes.subarray(i, i + 1))).text).toBe(withoutUsage);
  });

  it("forwards complete events immediately and holds back only an incomplete trailing event", () => {
    const first = 'data: {"choices":[{"index":0,"delta":{"content":"a"}}],"usage":null}\n\n';
    const filter = createInjectedUsageFilter();
    expect(decode(filter.transform(f.encode(first + 'data: {"cho')))).toBe(first);
    expect(decode(filter.transform(f.encode('ices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}\n')))).toBe("");
    expect(decode(filter.transform(f.encode("\ndata: [DONE]\n\n")))).toBe("data: [DONE]\n\n");
    expect(decode(filter.flush())).toBe("");
  });

  it("handles CRLF framing, including a CRLF split right after the dropped event", () => {
    const crlf = f.openAiChatStream.replaceAll("\n", "\r\n");
    const expected = withoutUsage.replaceAll("\n", "\r\n");
    const bytes = f.encode(crlf);
    for (let at = 0; at <= bytes.length; at += 1) {
      expect(run([bytes.subarray(0, at), bytes.subarray(at)]).text, `split at ${at}`).toBe(expected);
    }
    const cr = f.openAiChatStream.replaceAll("\n", "\r");
    expect(run([f.encode(cr)]).text).toBe(withoutUsage.replaceAll("\n", "\r"));
  });

  it("keeps usage on chunks that have choices (compat servers) and usage:null fields", () => {
    expect(run([f.encode(f.compatChatStream)]).text).toBe(f.compatChatStream);
  });

  it("drops an unterminated usage-only event at flush but returns any other tail", () => {
    expect(run([f.encode(usageEvent.trimEnd())]).text).toBe("");
    expect(run([f.encode("data: [DONE]")]).text).toBe("data: [DONE]");
  });

  it("passes a non-SSE error body through untouched", () => {
    const body = JSON.stringify({ error: { message: "Rate limit reached", type: "requests", param: null, code: "rate_limit_exceeded" } });
    expect(run([f.encode(body)]).text).toBe(body);
  });

  it("forwards a partial event larger than any usage chunk instead of buffering it", () => {
    const big = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: "x".repeat(200_000) } }], usage: null })}\n\n`;
    const filter = createInjectedUsageFilter();
    const bytes = f.encode(big + usageEvent);
    const first = filter.transform(bytes.subarray(0, 100_000));
    expect(first.length).toBe(100_000);
    const rest = filter.transform(bytes.subarray(100_000));
    expect(decode(rest) + decode(filter.flush())).toBe(big.slice(100_000));
  });
});
