import { describe, expect, it } from "vitest";
import { ConfigHolder, orgConfigSchema } from "../config/index.ts";
import { zeroUsage } from "../usage/index.ts";
import { createBundledCatalog, createPricer } from "./index.ts";

describe("createPricer", () => {
  const usage = { ...zeroUsage(), inputTokens: 1_000_000, outputTokens: 1_000_000 };

  it("prices from the catalog, and follows a config reload without being rebuilt", () => {
    const config = new ConfigHolder(orgConfigSchema.parse({ providers: { openai: {} } }));
    const price = createPricer(createBundledCatalog(), config);
    // gpt-5 in the bundled snapshot: $1.25 in, $10 out per million.
    expect(price("openai", "gpt-5", usage)).toBeCloseTo(11.25, 6);
    config.replace(orgConfigSchema.parse({ providers: { openai: {} }, pricing: { "openai/gpt-5": { input: 1, output: 2 } } }));
    expect(price("openai", "gpt-5", usage)).toBeCloseTo(3, 6);
  });

  it("says undefined for a model nobody prices (never zero: a budget must know it cannot hold it)", () => {
    const price = createPricer(createBundledCatalog(), new ConfigHolder(orgConfigSchema.parse({ providers: { openai: {} } })));
    expect(price("openai", "no-such-model", usage)).toBeUndefined();
  });
});
