import { countTokens as o200k } from "gpt-tokenizer/encoding/o200k_base";
import { countTokens as cl100k } from "gpt-tokenizer/encoding/cl100k_base";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { zeroUsage } from "../types.ts";

/** A fresh copy of the estimate modules: nothing loaded yet, as in a gateway that just started. */
async function fresh() {
  vi.resetModules();
  return import("./index.ts");
}

const TEXT = "Déjà vu — 日本語 🚀 and some English prose to count.";
const bytes = (text: string) => new TextEncoder().encode(text).byteLength;

describe("tokenizers load when a count first needs them", () => {
  beforeEach(() => {
    vi.resetModules();
  });

  it("importing the estimate module loads no encoding", async () => {
    const m = await fresh();
    expect(m.tokenizerLoaded("o200k_base")).toBe(false);
    expect(m.tokenizerLoaded("cl100k_base")).toBe(false);
    // Give a background load every chance to finish if one had been started.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(m.tokenizerLoaded("o200k_base")).toBe(false);
  });

  it("the first count uses the byte approximation and loads that encoding only; the next is exact", async () => {
    const m = await fresh();
    expect(m.countTokens(TEXT, "o200k_base")).toBe(Math.ceil(bytes(TEXT) / m.FALLBACK_BYTES_PER_TOKEN));
    // The count itself started the load.
    await vi.waitFor(() => expect(m.tokenizerLoaded("o200k_base")).toBe(true), { timeout: 20_000, interval: 20 });
    expect(m.tokenizerLoaded("cl100k_base")).toBe(false);
    expect(m.countTokens(TEXT, "o200k_base")).toBe(o200k(TEXT));
  });

  it("an estimate for a GPT-4 model loads cl100k_base, not o200k_base", async () => {
    const m = await fresh();
    const input = {
      format: "openai-chat" as const,
      model: "gpt-4-0613",
      body: { messages: [{ role: "user", content: TEXT }] },
      bodyBytes: 100,
      report: { usage: zeroUsage(), model: undefined, sawFinalUsage: false },
      output: { text: "Hello there.", scale: 1 },
    };
    m.estimateUsage(input);
    await vi.waitFor(() => expect(m.tokenizerLoaded("cl100k_base")).toBe(true), { timeout: 20_000, interval: 20 });
    expect(m.tokenizerLoaded("o200k_base")).toBe(false);
    const exact = m.estimateUsage(input);
    expect(exact.inputTokens).toBe(cl100k(TEXT) + 3 + 3);
    expect(exact.outputTokens).toBe(cl100k("Hello there."));
  });

  it("concurrent first counts share one load", async () => {
    const m = await fresh();
    const a = m.loadTokenizer("o200k_base");
    const b = m.loadTokenizer("o200k_base");
    expect(a).toBe(b);
    await a;
    expect(m.tokenizerLoadFailure()).toBeUndefined();
  });
});

describe("prepareEstimate", () => {
  it("loads the one encoding the format and model count with, before any count", async () => {
    const m = await fresh();
    m.prepareEstimate("anthropic-messages", "claude-sonnet-4-5");
    await vi.waitFor(() => expect(m.tokenizerLoaded("o200k_base")).toBe(true), { timeout: 20_000, interval: 20 });
    expect(m.tokenizerLoaded("cl100k_base")).toBe(false);
    m.prepareEstimate("openai-chat", "gpt-3.5-turbo");
    await vi.waitFor(() => expect(m.tokenizerLoaded("cl100k_base")).toBe(true), { timeout: 20_000, interval: 20 });
  });

  it("a request with no wire format loads nothing", async () => {
    const m = await fresh();
    m.prepareEstimate("none", undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(m.tokenizerLoaded("o200k_base")).toBe(false);
  });
});
