import { describe, expect, it } from "vitest";
import { createBundledCatalog, modelPrice } from "../../src/catalog/index.ts";
import { priceUsage } from "../../src/usage/pricing.ts";
import { createUsageReader } from "../../src/usage/reader.ts";
import { zeroUsage, type ModelPrice, type TokenUsage, type WireFormat } from "../../src/usage/types.ts";
import * as f from "../support/usage-streams.ts";

const catalog = createBundledCatalog();
function catalogPrice(provider: string, model: string): ModelPrice {
  const entry = catalog.findModel(provider, model);
  const price = entry ? modelPrice(entry) : undefined;
  if (!price) throw new Error(`no price for ${provider}/${model} in the snapshot`);
  return price;
}
function read(format: WireFormat, streaming: boolean, text: string): TokenUsage {
  const reader = createUsageReader(format, { streaming });
  reader.push(f.encode(text));
  return reader.finish().usage;
}
const usage = (parts: Partial<TokenUsage>): TokenUsage => ({ ...zeroUsage(), ...parts });

describe("priceUsage against the real models.dev snapshot", () => {
  it("claude-sonnet-4-5: cache reads, 5m writes at cache_write, 1h writes at 2x input", () => {
    const price = catalogPrice("anthropic", "claude-sonnet-4-5");
    expect(price).toMatchObject({ input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 });
    // 25*3 + 1800*0.3 + 1024*3.75 + 1024*6 + 503*15 = 18144 micro-dollars
    expect(priceUsage(read("anthropic-messages", true, f.anthropicStream), price)).toBeCloseTo(0.018144, 12);
  });

  it("gpt-5: cached tokens at cache_read, reasoning at the output rate, each token once", () => {
    const price = catalogPrice("openai", "gpt-5-2025-08-07");
    expect(price).toMatchObject({ input: 1.25, output: 10, cacheRead: 0.125 });
    // 86*1.25 + 1920*0.125 + (300-192)*10 + 192*10 = 3347.5 micro-dollars
    expect(priceUsage(read("openai-chat", true, f.openAiChatStream), price)).toBeCloseTo(0.0033475, 12);
    // Responses: 952*1.25 + 2048*0.125 + 900*10 = 10446
    expect(priceUsage(read("openai-responses", true, f.openAiResponsesStream), price)).toBeCloseTo(0.010446, 12);
  });

  it("gemini-2.5-pro: thoughts billed as output, cached content at cache_read, >200k tier", () => {
    const price = catalogPrice("google", "models/gemini-2.5-pro");
    // 4050*1.25 + 8000*0.125 + 1250*10 = 18562.5
    expect(priceUsage(read("gemini", true, f.geminiSseStream), price)).toBeCloseTo(0.0185625, 12);
    const long = usage({ inputTokens: 150_000, cacheReadTokens: 60_000, outputTokens: 1000, reasoningTokens: 400 });
    // prompt 210k > 200k: 150000*2.5 + 60000*0.25 + 1000*15 = 405000
    expect(priceUsage(long, price)).toBeCloseTo(0.405, 12);
    const short = usage({ inputTokens: 150_000, cacheReadTokens: 50_000, outputTokens: 1000 });
    // exactly 200k is not over: 150000*1.25 + 50000*0.125 + 1000*10 = 203750
    expect(priceUsage(short, price)).toBeCloseTo(0.20375, 12);
  });

  it("uses a separate reasoning rate when the model has one", () => {
    const price: ModelPrice = { input: 2, output: 8, reasoning: 3 };
    expect(priceUsage(usage({ inputTokens: 1000, outputTokens: 500, reasoningTokens: 200 }), price)).toBeCloseTo((2000 + 300 * 8 + 200 * 3) / 1e6, 12);
  });

  it("falls back: cache read at input, 5m write at 1.25x, 1h write at 2x input", () => {
    const price: ModelPrice = { input: 4, output: 20 };
    expect(priceUsage(usage({ cacheReadTokens: 1000, cacheWrite5mTokens: 1000, cacheWrite1hTokens: 1000 }), price)).toBeCloseTo((4000 + 5000 + 8000) / 1e6, 12);
    expect(priceUsage(usage({ cacheWrite1hTokens: 1000 }), { ...price, cacheWrite1h: 7 })).toBeCloseTo(7000 / 1e6, 12);
  });

  it("uses the legacy context_over_200k tier shape too", () => {
    const price: ModelPrice = { input: 3, output: 15, tiers: [{ aboveInputTokens: 200_000, price: { input: 6, output: 22.5, cacheRead: 0.6, cacheWrite: 7.5 } }] };
    expect(priceUsage(usage({ inputTokens: 10, cacheReadTokens: 200_000, outputTokens: 100 }), price)).toBeCloseTo((60 + 120_000 + 2250) / 1e6, 12);
  });
});

describe("double-counting regressions", () => {
  it("OpenAI: a fully cached prompt is not billed as input too", () => {
    const body = JSON.stringify({ model: "gpt-5", usage: { prompt_tokens: 10_000, completion_tokens: 0, prompt_tokens_details: { cached_tokens: 10_000 } } });
    const tokens = read("openai-chat", false, body);
    expect(tokens).toEqual(usage({ cacheReadTokens: 10_000 }));
    expect(priceUsage(tokens, catalogPrice("openai", "gpt-5"))).toBeCloseTo((10_000 * 0.125) / 1e6, 12);
  });

  it("Anthropic: cache reads/writes are not added to input, repeated message_delta fields are not summed", () => {
    const tokens = read("anthropic-messages", true, f.anthropicStream);
    expect(tokens.inputTokens).toBe(25);
    expect(tokens.inputTokens + tokens.cacheReadTokens + tokens.cacheWrite5mTokens + tokens.cacheWrite1hTokens).toBe(25 + 1800 + 2048);
    expect(tokens.outputTokens).toBe(503);
  });

  it("Gemini: cachedContentTokenCount is inside promptTokenCount and thoughts are not counted twice", () => {
    const tokens = read("gemini", false, f.geminiJson);
    expect(tokens.inputTokens + tokens.cacheReadTokens).toBe(12034 + 16);
    expect(tokens.outputTokens).toBe(250 + 1000);
    const price: ModelPrice = { input: 1, output: 1, cacheRead: 1 };
    expect(priceUsage(tokens, price) * 1e6).toBeCloseTo(12034 + 16 + 1250, 9);
  });
});
