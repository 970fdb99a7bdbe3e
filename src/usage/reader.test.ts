import { describe, expect, it } from "vitest";
import { createUsageReader } from "./reader.ts";
import type { UsageReport, WireFormat } from "./types.ts";
import * as f from "../../test/support/usage-streams.ts";

function readAll(format: WireFormat, streaming: boolean, chunks: Uint8Array[]): UsageReport {
  const reader = createUsageReader(format, { streaming });
  for (const chunk of chunks) reader.push(chunk);
  return reader.finish();
}

const whole = (text: string) => [f.encode(text)];
const splitAt = (bytes: Uint8Array, at: number) => [bytes.subarray(0, at), bytes.subarray(at)];
const byteByByte = (bytes: Uint8Array) => Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));

/** The same report whatever byte the stream is split at (mid-line, mid-CRLF, mid-UTF-8). */
function expectSplitInvariant(format: WireFormat, text: string, expected: UsageReport): void {
  const bytes = f.encode(text);
  for (let at = 0; at <= bytes.length; at++) {
    const report = readAll(format, true, splitAt(bytes, at));
    if (JSON.stringify(report) !== JSON.stringify(expected)) {
      expect({ at, report }).toEqual({ at, report: expected });
    }
  }
  expect(readAll(format, true, byteByByte(bytes))).toEqual(expected);
}

describe("anthropic-messages", () => {
  const expected: UsageReport = { usage: f.anthropicStreamExpected, model: "claude-sonnet-4-5-20250929", sawFinalUsage: true };

  it("reads a streamed answer with cache reads, 5m and 1h cache writes exactly", () => {
    expect(readAll("anthropic-messages", true, whole(f.anthropicStream))).toEqual(expected);
  });

  it("gives the same answer split at every byte boundary", () => {
    expectSplitInvariant("anthropic-messages", f.anthropicStream, expected);
  });

  it("treats output_tokens in message_delta as cumulative and cache writes without split as 5m", () => {
    expect(readAll("anthropic-messages", true, whole(f.anthropicStreamLegacy))).toEqual({
      usage: { inputTokens: 472, outputTokens: 15, cacheReadTokens: 0, cacheWrite5mTokens: 1500, cacheWrite1hTokens: 0, reasoningTokens: 0 },
      model: "claude-3-7-sonnet-20250219",
      sawFinalUsage: true,
    });
  });

  it("stops at an error event and reports what message_start said", () => {
    expect(readAll("anthropic-messages", true, whole(f.anthropicStreamWithError))).toEqual({
      usage: { inputTokens: 300, outputTokens: 1, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0 },
      model: "claude-opus-4-1-20250805",
      sawFinalUsage: false,
    });
  });

  it("reads a JSON body with the cache_creation split", () => {
    expect(readAll("anthropic-messages", false, whole(f.anthropicJson))).toEqual({
      usage: { inputTokens: 2095, outputTokens: 503, cacheReadTokens: 12000, cacheWrite5mTokens: 1000, cacheWrite1hTokens: 2000, reasoningTokens: 0 },
      model: "claude-sonnet-4-5-20250929",
      sawFinalUsage: true,
    });
  });

  it("keeps message_start usage when the stream is cut before message_delta", () => {
    const cut = f.anthropicStream.slice(0, f.anthropicStream.indexOf("event: message_delta"));
    const report = readAll("anthropic-messages", true, whole(cut));
    expect(report.usage.inputTokens).toBe(25);
    expect(report.usage.cacheWrite1hTokens).toBe(1024);
    expect(report.usage.outputTokens).toBe(1);
    expect(report.sawFinalUsage).toBe(false);
  });
});

describe("openai-chat", () => {
  const expected: UsageReport = { usage: f.openAiChatStreamExpected, model: "gpt-5-2025-08-07", sawFinalUsage: true };

  it("reads the include_usage chunk, subtracting cached tokens from prompt tokens", () => {
    expect(readAll("openai-chat", true, whole(f.openAiChatStream))).toEqual(expected);
  });

  it("gives the same answer split at every byte boundary", () => {
    expectSplitInvariant("openai-chat", f.openAiChatStream, expected);
  });

  it("reads usage on a compat server's last chunk that still has choices", () => {
    expect(readAll("openai-chat", true, whole(f.compatChatStream))).toEqual({
      usage: { inputTokens: 41, outputTokens: 7, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0 },
      model: "Qwen3-Coder-30B",
      sawFinalUsage: true,
    });
  });

  it("reports zero usage but the model when no usage chunk came (client aborted)", () => {
    const cut = f.openAiChatStream.slice(0, f.openAiChatStream.indexOf('"choices":[]') - 150);
    const report = readAll("openai-chat", true, whole(cut));
    expect(report).toEqual({ usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0 }, model: "gpt-5-2025-08-07", sawFinalUsage: false });
  });

  it("still counts a usage event whose blank line never arrived", () => {
    const text = `data: ${JSON.stringify(f.openAiChatUsageChunk)}`;
    expect(readAll("openai-chat", true, whole(text)).usage).toEqual(f.openAiChatStreamExpected);
  });

  it("reads a JSON body", () => {
    expect(readAll("openai-chat", false, whole(f.openAiChatJson))).toEqual({
      usage: { inputTokens: 19, outputTokens: 10, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0 },
      model: "gpt-5-2025-08-07",
      sawFinalUsage: true,
    });
  });

  it("reads a JSON error body returned to a streaming request as zero usage", () => {
    const error = JSON.stringify({ error: { message: "Incorrect API key provided", type: "invalid_request_error", param: null, code: "invalid_api_key" } });
    expect(readAll("openai-chat", true, whole(error)).sawFinalUsage).toBe(false);
  });
});

describe("openai-responses", () => {
  const expected: UsageReport = { usage: f.openAiResponsesExpected, model: "gpt-5-2025-08-07", sawFinalUsage: true };

  it("reads response.completed usage with cached and reasoning tokens", () => {
    expect(readAll("openai-responses", true, whole(f.openAiResponsesStream))).toEqual(expected);
  });

  it("gives the same answer split at every byte boundary", () => {
    expectSplitInvariant("openai-responses", f.openAiResponsesStream, expected);
  });

  it("reads usage from response.incomplete and response.failed too", () => {
    for (const name of ["response.incomplete", "response.failed"]) {
      const text = f.openAiResponsesStream.replaceAll("response.completed", name);
      expect(readAll("openai-responses", true, whole(text)).usage).toEqual(f.openAiResponsesExpected);
    }
  });

  it("reads events sent without event: lines by their type", () => {
    const text = f.openAiResponsesStream.replace(/^event: .*\n/gm, "");
    expect(readAll("openai-responses", true, whole(text))).toEqual(expected);
  });

  it("reads a JSON body", () => {
    expect(readAll("openai-responses", false, whole(f.openAiResponsesJson))).toEqual(expected);
  });
});

describe("gemini", () => {
  const expected: UsageReport = { usage: f.geminiExpected, model: "gemini-2.5-pro", sawFinalUsage: true };

  it("reads alt=sse streams, taking the last cumulative usageMetadata", () => {
    expect(readAll("gemini", true, whole(f.geminiSseStream))).toEqual(expected);
  });

  it("gives the same answer split at every byte boundary (alt=sse, CRLF)", () => {
    expectSplitInvariant("gemini", f.geminiSseStream, expected);
  });

  it("reads the streamed JSON array (no alt=sse), split at every byte boundary", () => {
    expect(readAll("gemini", true, whole(f.geminiArrayStream))).toEqual(expected);
    expectSplitInvariant("gemini", f.geminiArrayStream, expected);
  });

  it("reads the streamed JSON array even when the request was not classified as streaming", () => {
    expect(readAll("gemini", false, whole(f.geminiArrayStream))).toEqual(expected);
  });

  it("reads a JSON body: thoughts are output and reasoning, tool-use prompt is input", () => {
    expect(readAll("gemini", false, whole(f.geminiJson))).toEqual(expected);
  });
});

describe("openai-embeddings and none", () => {
  it("reads prompt_tokens of an embeddings body", () => {
    expect(readAll("openai-embeddings", false, whole(f.embeddingsJson))).toEqual({
      usage: { inputTokens: 8, outputTokens: 0, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0 },
      model: "text-embedding-3-small",
      sawFinalUsage: true,
    });
  });

  it("none reports zero usage", () => {
    expect(readAll("none", false, whole(f.openAiChatJson)).usage.inputTokens).toBe(0);
  });
});

describe("robustness", () => {
  it("finds trailing usage in a JSON body larger than the cap", () => {
    const big = JSON.stringify({
      object: "list",
      data: Array.from({ length: 2000 }, (_, index) => ({ object: "embedding", index, embedding: Array.from({ length: 64 }, (_, i) => i / 7) })),
      model: "text-embedding-3-large",
      usage: { prompt_tokens: 123456, total_tokens: 123456 },
    });
    const reader = createUsageReader("openai-embeddings", { streaming: false, jsonCapBytes: 256 * 1024 });
    const bytes = f.encode(big);
    expect(bytes.length).toBeGreaterThan(1024 * 1024);
    for (let i = 0; i < bytes.length; i += 16384) reader.push(bytes.subarray(i, i + 16384));
    expect(reader.finish().usage.inputTokens).toBe(123456);
  });

  it("never throws on garbage and returns what it saw", () => {
    const formats: WireFormat[] = ["anthropic-messages", "openai-chat", "openai-responses", "gemini", "openai-embeddings"];
    const garbage = ["\u0000\u00ff{{{", 'data: {"usage": {"prompt_tokens": "many"}}\n\n', "event: message_start\ndata: {not json\n\n", '[{"usageMetadata": 5}, 7, "x"]', '{"usage": null}'];
    for (const format of formats) {
      for (const text of garbage) {
        for (const streaming of [true, false]) {
          const report = readAll(format, streaming, [f.encode(text), new Uint8Array([0xe2, 0x82])]);
          expect(report.readerError).toBeUndefined();
          expect(Number.isFinite(report.usage.inputTokens)).toBe(true);
        }
      }
    }
  });

  it("finish is idempotent and push after finish is ignored", () => {
    const reader = createUsageReader("openai-chat", { streaming: true });
    reader.push(f.encode(f.openAiChatStream));
    const first = reader.finish();
    reader.push(f.encode(f.openAiChatStream));
    expect(reader.finish()).toBe(first);
  });
});
