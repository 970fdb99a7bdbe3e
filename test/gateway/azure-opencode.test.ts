import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runOpencodeWithServedProviders } from "../e2e/opencode-harness.ts";
import { CLIENT_TOKEN, ledgerRows, snapshotCost } from "./harness.ts";
import { startAzureHarness, type AzureHarness } from "./azure-harness.ts";

/**
 * The real OpenCode client (its bundled @ai-sdk/azure) configured only from what the gateway
 * serves at /.well-known/opencode: its `azure` provider calls the gateway's v1 Responses API
 * with the deployment as the model, and the gateway meters it as the model the deployment serves.
 */
const opencode = new URL("../../node_modules/opencode-linux-x64/bin/opencode", import.meta.url).pathname;

let h: AzureHarness;
let served: { provider: Record<string, { options: Record<string, unknown>; models?: Record<string, { name?: string }> }> };
beforeAll(async () => {
  h = await startAzureHarness();
  h.fake.setDefault({ text: "PONG through Azure", chunks: 3, usage: { input: 432, cacheRead: 68, output: 21, reasoning: 7 } });
  served = ((await (await fetch(`${h.gateway.url}/.well-known/opencode`)).json()) as { config: typeof served }).config;
});
afterAll(async () => {
  await h.close();
});

/** The real OpenCode with only the served providers and the gateway token: no provider key, no cloud credentials. */
function runOpenCode(model: string) {
  return runOpencodeWithServedProviders(served.provider, model, CLIENT_TOKEN, "gatehouse-oc-azure-");
}

describe.skipIf(!existsSync(opencode))("OpenCode on the azure-openai route, from the served config", () => {
  it("serves the azure provider at the gateway's v1 API, the declared deployments as its models, no key", () => {
    const azure = served.provider["azure"];
    expect(azure?.options).toMatchObject({ baseURL: `${h.gateway.url}/azure-openai/openai/v1`, apiKey: "gatehouse", headers: { "cf-access-token": "{env:GATEHOUSE_TOKEN}" } });
    expect(Object.keys(azure?.models ?? {}).sort()).toEqual(["chat-big", "chat-prod", "embed", "reasoner"]);
    expect(azure?.models?.["chat-prod"]?.name).toMatch(/\(chat-prod\)$/);
    expect(JSON.stringify(served)).not.toContain(h.fake.keys.azure);
  });

  it("answers through the gateway's Responses API with the org key, metered exactly as the deployment's model", async () => {
    const run = await runOpenCode("azure/reasoner");
    expect({ code: run.code, tail: run.code === 0 ? "" : run.out.slice(-2000) }).toEqual({ code: 0, tail: "" });
    expect(run.out).toContain("PONG through Azure");
    const calls = h.fake.requests.filter((r) => r.path === "/openai/v1/responses");
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) {
      expect(call.headers["api-key"]).toBe(h.fake.keys.azure);
      expect(JSON.parse(call.bodyText)).toMatchObject({ model: "reasoner", store: false });
    }
    const rows = (await ledgerRows(h)).filter((r) => r.endpoint === "responses" && r.requested_model === "reasoner");
    expect(rows.length).toBe(calls.length);
    const price = snapshotCost("azure", "gpt-5-mini");
    const cost = (432 * price.input + 68 * (price.cache_read ?? 0) + 21 * price.output) / 1_000_000;
    for (const row of rows) {
      expect({ provider: row.provider, model: row.model, streamed: row.streamed, estimated: row.estimated, tokens: [row.input_tokens, row.cache_read_tokens, row.output_tokens, row.reasoning_tokens] }).toEqual({
        provider: "azure-openai",
        model: "gpt-5-mini",
        streamed: 1,
        estimated: 0,
        tokens: [432, 68, 21, 7],
      });
      expect(row.cost_usd).toBeCloseTo(cost, 12);
    }
  }, 180_000);
});
