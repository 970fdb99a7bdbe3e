import { countTokens as o200k } from "gpt-tokenizer/encoding/o200k_base";
import { countTokens as cl100k } from "gpt-tokenizer/encoding/cl100k_base";
import { beforeAll, describe, expect, it } from "vitest";
import { createUsageReader } from "../reader.ts";
import { zeroUsage } from "../types.ts";
import { anthropicStream, encode, geminiSseStream, openAiChatStream, openAiResponsesStream } from "../../../test/support/usage-streams.ts";
import { countTokens, estimateInputTokens, estimateUsage, looseStrings, MAX_TOKENIZED_CHARS, preloadTokenizers, promptParts, tokenizerProfile } from "./index.ts";

beforeAll(async () => {
  await preloadTokenizers();
});

/** Everything but the last `cut` bytes of a stream: what reached the gateway before the break. */
const cutBefore = (stream: string, marker: string) => stream.slice(0, stream.indexOf(marker));

describe("relayed output text", () => {
  it("OpenAI chat: the content deltas, never the usage chunk", () => {
    const reader = createUsageReader("openai-chat", { streaming: true });
    reader.push(encode(cutBefore(openAiChatStream, '"choices":[]')));
    expect(reader.finish().sawFinalUsage).toBe(false);
    const { text } = reader.output();
    expect(text).toContain("Grüße");
    expect(text).not.toContain("prompt_tokens");
  });

  it("Responses: deltas only, not the .done events that repeat the text", () => {
    const reader = createUsageReader("openai-responses", { streaming: true });
    reader.push(encode(openAiResponsesStream));
    reader.finish();
    const deltas = [...openAiResponsesStream.matchAll(/"type":"response\.output_text\.delta"[^\n]*"delta":"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
    expect(deltas.length).toBeGreaterThan(0);
    expect(reader.output().text).toBe(deltas.join(""));
  });

  it("Anthropic: text and thinking deltas; Gemini: the parts' text", () => {
    const anthropic = createUsageReader("anthropic-messages", { streaming: true });
    anthropic.push(encode(anthropicStream));
    anthropic.finish();
    expect(anthropic.output().text).toContain("let me think.");
    expect(anthropic.output().text).toContain("ünïcödé");
    const gemini = createUsageReader("gemini", { streaming: true });
    gemini.push(encode(geminiSseStream));
    gemini.finish();
    expect(gemini.output().text.length).toBeGreaterThan(0);
  });

  it("a JSON body cut mid-string still yields the text it had", () => {
    const reader = createUsageReader("openai-chat", { streaming: false });
    reader.push(encode('{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"Hello wor'));
    reader.finish();
    expect(reader.output().text).toBe("Hello wor");
    expect(looseStrings('{"a":"x","text":"un\\u00efc\\n","delta":"cut', new Set(["text", "delta"]))).toEqual(["unïc\n", "cut"]);
  });
});

describe("prompt counting", () => {
  it("counts message text with the model's own OpenAI encoding plus the cookbook framing", () => {
    const body = {
      model: "gpt-5",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Déjà vu — 日本語 🚀" },
      ],
    };
    const expected = o200k("Be brief.\nDéjà vu — 日本語 🚀") + 2 * 3 + 3;
    expect(estimateInputTokens("openai-chat", "gpt-5", body, 0)).toBe(expected);
    expect(tokenizerProfile("openai-chat", "gpt-4-0613").encoding).toBe("cl100k_base");
    expect(estimateInputTokens("openai-chat", "gpt-4", body, 0)).toBe(cl100k("Be brief.\nDéjà vu — 日本語 🚀") + 9);
  });

  it("skips settings, signatures, earlier thinking and media bytes; counts media at a fixed figure", () => {
    const image = "data:image/png;base64," + "A".repeat(100_000);
    const parts = promptParts("anthropic-messages", {
      model: "claude-sonnet-4-5",
      metadata: { user_id: "someone" },
      messages: [
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "secret chain", signature: "sig" },
            { type: "text", text: "Earlier answer" },
          ],
        },
        {
          role: "user",
          content: [
            { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBOR".repeat(1000) } },
            { type: "text", text: "What is this?" },
          ],
        },
      ],
    });
    expect(parts.text).toBe("Earlier answer\nWhat is this?");
    expect(parts.media).toBe(1);
    const openai = promptParts("openai-chat", {
      model: "gpt-5",
      messages: [
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: image } },
            { type: "text", text: "hi" },
          ],
        },
      ],
    });
    expect(openai.text).toBe("hi");
    expect(openai.media).toBe(1);
  });

  it("tool definitions count as JSON and add Anthropic's tool preamble", () => {
    const tools = [{ name: "get_weather", description: "Weather for a city", input_schema: { type: "object", properties: { city: { type: "string" } } } }];
    const withTools = estimateInputTokens("anthropic-messages", "claude", { messages: [{ role: "user", content: "hi" }], tools }, 0);
    const without = estimateInputTokens("anthropic-messages", "claude", { messages: [{ role: "user", content: "hi" }] }, 0);
    expect(withTools - without).toBeGreaterThanOrEqual(346 + Math.floor(o200k(JSON.stringify(tools)) * 1.2) - 2);
  });

  it("a non-JSON body counts at 4 bytes per token", () => {
    expect(estimateInputTokens("openai-chat", "gpt-5", undefined, 4000)).toBe(1000);
  });
});

describe("estimateUsage", () => {
  it("keeps the input counts the upstream already sent (Anthropic message_start) and takes the larger output", () => {
    const usage = estimateUsage({
      format: "anthropic-messages",
      model: "claude",
      body: { messages: [{ role: "user", content: "x".repeat(10_000) }] },
      bodyBytes: 10_050,
      report: { usage: { ...zeroUsage(), inputTokens: 25, cacheReadTokens: 1800, outputTokens: 1 }, model: undefined, sawFinalUsage: false },
      output: { text: "Hello there, this is some generated text.", scale: 1 },
    });
    expect(usage.inputTokens).toBe(25);
    expect(usage.cacheReadTokens).toBe(1800);
    expect(usage.outputTokens).toBe(Math.ceil(o200k("Hello there, this is some generated text.") * 1.2));
  });

  it("counts the prompt when nothing was seen, and scales output past the kept cap", () => {
    const usage = estimateUsage({
      format: "openai-chat",
      model: "gpt-5",
      body: { messages: [{ role: "user", content: "hello world" }] },
      bodyBytes: 50,
      report: { usage: zeroUsage(), model: undefined, sawFinalUsage: false },
      output: { text: "one two three", scale: 2 },
    });
    expect(usage.inputTokens).toBe(o200k("hello world") + 6);
    expect(usage.outputTokens).toBe(o200k("one two three") * 2);
  });

  it("special-token text is counted, not rejected; long text is sampled and scaled", () => {
    expect(countTokens("say <|endoftext|> now", "o200k_base")).toBeGreaterThan(3);
    const long = "lorem ipsum dolor sit amet ".repeat(10_000);
    expect(long.length).toBeGreaterThan(MAX_TOKENIZED_CHARS);
    const exact = o200k(long);
    expect(Math.abs(countTokens(long, "o200k_base") - exact) / exact).toBeLessThan(0.01);
  });
});

describe("OutputTextCollector on a long stream", () => {
  it("reduces kept payloads to their text past the compaction point and counts the same text", async () => {
    const { OutputTextCollector, COMPACT_AT_CHARS } = await import("./output-text.ts");
    const collector = new OutputTextCollector("openai-chat");
    let expected = "";
    let pushed = 0;
    for (let i = 0; pushed < COMPACT_AT_CHARS * 3; i++) {
      const piece = `tok${i} `;
      expected += piece;
      const data = JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content: piece }, finish_reason: null }], usage: null });
      pushed += data.length;
      collector.push("message", data);
    }
    const { text, scale } = collector.text();
    expect(text).toBe(expected);
    expect(scale).toBe(1);
  });
});
