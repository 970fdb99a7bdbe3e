import { describe, expect, it } from "vitest";
import { orgConfigSchema, type OrgConfig } from "../config/index.ts";
import { priceUsage, zeroUsage } from "../usage/index.ts";
import { Catalog, bundledSnapshot, createBundledCatalog, modelPrice, PRICE_CACHE_LIMIT, resolvePrice } from "./index.ts";

const config = (raw: unknown): OrgConfig => orgConfigSchema.parse(raw);

describe("resolvePrice", () => {
  const catalog = createBundledCatalog();

  it("maps gateway routes to models.dev providers", () => {
    const org = config({ providers: { anthropic: {}, openai: {}, "google-ai-studio": {}, compat: { catalogProvider: "groq" } } });
    expect(resolvePrice(catalog, org, "anthropic", "claude-sonnet-4-5-20250929")).toEqual({ source: "catalog", price: expect.objectContaining({ input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 }) });
    expect(resolvePrice(catalog, org, "openai", "gpt-5")?.price).toMatchObject({ input: 1.25, output: 10, cacheRead: 0.125 });
    expect(resolvePrice(catalog, org, "google-ai-studio", "gemini-2.5-pro")?.price.tiers?.[0]).toEqual({ aboveInputTokens: 200000, price: expect.objectContaining({ input: 2.5, output: 15, cacheRead: 0.25 }) });
    expect(resolvePrice(catalog, org, "compat", "llama-3.3-70b-versatile")?.price).toMatchObject({ input: 0.59, output: 0.79 });
    expect(resolvePrice(catalog, config({ providers: { compat: {} } }), "compat", "llama-3.3-70b-versatile")).toBeUndefined();
    expect(resolvePrice(catalog, org, "openai", "no-such-model")).toBeUndefined();
  });

  it("lets org overrides win, also for dated ids", () => {
    const org = config({ providers: { anthropic: {} }, pricing: { "anthropic/claude-sonnet-4-5": { input: 1, output: 2 }, "compat/my-llama": { input: 0.1, output: 0.2 } } });
    expect(resolvePrice(catalog, org, "anthropic", "claude-sonnet-4-5")).toEqual({ source: "override", price: { input: 1, output: 2 } });
    expect(resolvePrice(catalog, org, "anthropic", "claude-sonnet-4-5-20250929")).toEqual({ source: "override", price: { input: 1, output: 2 } });
    expect(resolvePrice(catalog, org, "compat", "my-llama")).toEqual({ source: "override", price: { input: 0.1, output: 0.2 } });
    expect(resolvePrice(catalog, org, "anthropic", "claude-opus-4-5")?.source).toBe("catalog");
  });

  it("caches per (provider, model) and invalidates on config replacement and catalog refresh", () => {
    const local = new Catalog(bundledSnapshot);
    const first = config({ providers: { openai: {} } });
    const a = resolvePrice(local, first, "openai", "gpt-5");
    expect(resolvePrice(local, first, "openai", "gpt-5")).toBe(a); // cached object
    const second = config({ providers: { openai: {} }, pricing: { "openai/gpt-5": { input: 9, output: 9 } } });
    expect(resolvePrice(local, second, "openai", "gpt-5")?.source).toBe("override");
    const changed = structuredClone(bundledSnapshot) as { openai: { models: { "gpt-5": { cost: { input: number } } } } };
    changed.openai.models["gpt-5"].cost.input = 42;
    expect(local.load(changed).ok).toBe(true);
    expect(resolvePrice(local, first, "openai", "gpt-5")?.price.input).toBe(42);
  });

  it("keeps the cache bounded whatever model names clients send", () => {
    const org = config({ providers: { openai: {} } });
    for (let i = 0; i < PRICE_CACHE_LIMIT * 2; i++) resolvePrice(catalog, org, "openai", `random-${i}`);
    expect(resolvePrice(catalog, org, "openai", "gpt-5")?.source).toBe("catalog");
  });

  it("is fast on the hot path", () => {
    const org = config({ providers: { anthropic: {} } });
    // CPU time of this process, not wall time: on a loaded machine other processes stretch the wall clock, not this.
    const started = process.cpuUsage();
    for (let i = 0; i < 100_000; i++) resolvePrice(catalog, org, "anthropic", "claude-sonnet-4-5-20250929");
    const spent = process.cpuUsage(started);
    expect((spent.user + spent.system) / 1000).toBeLessThan(500);
  });

  it("turns both models.dev tier shapes into price tiers and skips unknown tier types", () => {
    const catalogDoc = new Catalog({
      acme: {
        id: "acme",
        name: "Acme",
        models: {
          legacy: { id: "legacy", name: "L", limit: { context: 1e6, output: 1e4 }, cost: { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75, context_over_200k: { input: 6, output: 22.5, cache_read: 0.6, cache_write: 7.5 } } },
          tiered: {
            id: "tiered",
            name: "T",
            limit: { context: 1e6, output: 1e4 },
            cost: {
              input: 2.5,
              output: 15,
              cache_read: 0.25,
              tiers: [
                { input: 5, output: 22.5, cache_read: 0.5, tier: { size: 272000, type: "context" } },
                { input: 99, output: 99, tier: { size: 1000, type: "requests_per_day" } },
              ],
            },
          },
          together: { id: "together", name: "Q", limit: { context: 1e5, output: 1e4 }, cost: { input: 0.6, output: 3.6, cached_input: 0.35 } },
        },
      },
    });
    const legacy = modelPrice(catalogDoc.findModel("acme", "legacy")!)!;
    expect(legacy.tiers).toEqual([{ aboveInputTokens: 200000, price: { input: 6, output: 22.5, cacheRead: 0.6, cacheWrite: 7.5 } }]);
    // 1h writes in the long-context tier fall back to 2x the tier's input rate.
    expect(priceUsage({ ...zeroUsage(), inputTokens: 100_000, cacheWrite1hTokens: 150_000 }, legacy)).toBeCloseTo((600_000 + 1_800_000) / 1e6, 12);
    const tiered = modelPrice(catalogDoc.findModel("acme", "tiered")!)!;
    expect(tiered.tiers).toHaveLength(1);
    expect(priceUsage({ ...zeroUsage(), inputTokens: 300_000, outputTokens: 10 }, tiered)).toBeCloseTo((1_500_000 + 225) / 1e6, 12);
    expect(modelPrice(catalogDoc.findModel("acme", "together")!)?.cacheRead).toBe(0.35);
  });

  it("a context_over_200k beside context tiers is models.dev's copy of the first tier, not a 200K tier of its own", () => {
    // As models.dev's api.json writes gpt-6-sol (opencode-ai 1.18.33's snapshot): a 272K tier and its copy.
    const catalogDoc = new Catalog({
      openai: {
        id: "openai",
        name: "OpenAI",
        models: {
          "gpt-6-sol": {
            id: "gpt-6-sol",
            name: "GPT-6 Sol",
            limit: { context: 1_050_000, output: 128_000 },
            cost: { input: 2, output: 10, cache_read: 0.2, tiers: [{ input: 4, output: 15, cache_read: 0.4, tier: { type: "context", size: 272000 } }], context_over_200k: { input: 4, output: 15, cache_read: 0.4 } },
          },
        },
      },
    });
    const price = modelPrice(catalogDoc.findModel("openai", "gpt-6-sol")!)!;
    expect(price.tiers).toEqual([{ aboveInputTokens: 272000, price: { input: 4, output: 15, cacheRead: 0.4, cacheWrite: undefined, reasoning: undefined } }]);
    // A 250K prompt is under the 272K tier: base rates.
    expect(priceUsage({ ...zeroUsage(), inputTokens: 250_000, outputTokens: 1000 }, price)).toBeCloseTo((250_000 * 2 + 1000 * 10) / 1e6, 12);
    expect(priceUsage({ ...zeroUsage(), inputTokens: 300_000, outputTokens: 1000 }, price)).toBeCloseTo((300_000 * 4 + 1000 * 15) / 1e6, 12);
  });
});
