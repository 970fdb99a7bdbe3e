import { describe, expect, it } from "vitest";
import { orgConfigSchema, type OrgConfig } from "../config/index.ts";
import { Catalog, bundledSnapshot, createBundledCatalog, PRICE_CACHE_LIMIT, resolvePrice } from "./index.ts";

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
    const started = performance.now();
    for (let i = 0; i < 100_000; i++) resolvePrice(catalog, org, "anthropic", "claude-sonnet-4-5-20250929");
    expect(performance.now() - started).toBeLessThan(500);
  });
});
