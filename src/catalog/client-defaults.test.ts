import { describe, expect, it } from "vitest";
import { createBundledCatalog } from "./index.ts";
import { modelPrice } from "./price.ts";

/**
 * The models the coding clients pick without being told, read from each client's own
 * release (docs/usage-and-pricing.md, "The bundled snapshot"), against the bundled catalog:
 * a default that is not priced is a request the dashboard can only call "unpriced".
 */
const catalog = createBundledCatalog();
function priced(provider: string, model: string) {
  const entry = catalog.findModel(provider, model);
  return entry ? modelPrice(entry) : undefined;
}

describe("the coding clients' default models in the bundled catalog", () => {
  it.each([
    // Claude Code 2.1.332: API-key default (its sonnet fallback), subscription default (opus), the small/fast model.
    ["anthropic", "claude-sonnet-4-6"],
    ["anthropic", "claude-opus-5-5"],
    ["anthropic", "claude-haiku-4-5"],
    // Gemini CLI 0.61: "auto" resolves to these pro and flash models; the router's classifier model is "flash-lite".
    ["google", "gemini-3-pro-preview"],
    ["google", "gemini-3.1-pro-preview"],
    ["google", "gemini-3.1-pro-preview-customtools"],
    ["google", "gemini-3-flash-preview"],
    ["google", "gemini-3.1-flash-lite"],
    ["google", "gemini-3.5-flash-lite"],
    ["google", "gemini-3.5-flash"],
    ["google", "gemini-3.8-flash"],
    ["google", "gemini-2.5-pro"],
    // Codex 0.171's bundled model list, those that any offline models.dev snapshot has.
    ["openai", "gpt-6-astra"],
    ["openai", "gpt-6-sol"],
    ["openai", "gpt-6-luna"],
    ["openai", "gpt-5.6-sol"],
    ["openai", "gpt-5.5"],
  ])("%s/%s is priced", (provider, model) => {
    const price = priced(provider, model);
    expect(price?.input, `${provider}/${model}`).toBeGreaterThan(0);
    expect(price?.output).toBeGreaterThan(0);
  });

  it("Codex 0.171's default and newest models are in no models.dev snapshot that can be had offline: unpriced until one has them", () => {
    // Its bundled list, by priority: gpt-6.2-sol (1, the default), gpt-6.2-astra, gpt-6.1-terra, gpt-6.1-sol.
    // Price them under `pricing:` in gatehouse.yaml; when a newer snapshot has them, move them to the list above.
    for (const model of ["gpt-6.2-sol", "gpt-6.2-astra", "gpt-6.1-terra", "gpt-6.1-sol"]) expect(priced("openai", model), model).toBeUndefined();
  });
});
