import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runOpencodeWithServedProviders } from "../e2e/opencode-harness.ts";
import { snapshotCost } from "./harness.ts";
import { DEV_TOKEN, UPSTREAM_KEYS, namedLedgerRows, startNamedHarness, type NamedHarness } from "./compat-named-harness.ts";

/**
 * The real OpenCode client (its @ai-sdk/openai-compatible) configured only from what the
 * gateway serves at /.well-known/opencode: one `compat` provider whose models are
 * `<name>/<model>` under the compat base URL. `opencode run -m compat/vllm/deepseek-chat`
 * and `-m compat/openrouter/aion-labs/aion-1.0-mini` each reach their own upstream with its key.
 */
const opencode = new URL("../../node_modules/opencode-linux-x64/bin/opencode", import.meta.url).pathname;

let h: NamedHarness;
let served: { provider: Record<string, { npm?: string; whitelist?: string[]; options: Record<string, unknown>; models?: Record<string, { name?: string }> }> };
beforeAll(async () => {
  h = await startNamedHarness();
  served = ((await (await fetch(`${h.gateway.url}/.well-known/opencode`)).json()) as { config: typeof served }).config;
}, 60_000);
afterAll(() => h.close());

function run(model: string) {
  return runOpencodeWithServedProviders(served.provider, model, DEV_TOKEN, "gatehouse-oc-compat-");
}

describe("OpenCode on named compat upstreams, from the served config", () => {
  it("serves one compat provider with every upstream's models as <name>/<model>, under the compat base URL, with no key", () => {
    const compat = served.provider["compat"];
    expect(compat?.npm).toBe("@ai-sdk/openai-compatible");
    expect(compat?.options).toMatchObject({ baseURL: `${h.gateway.url}/compat`, apiKey: "", headers: { "cf-access-token": "{env:GATEHOUSE_TOKEN}" } });
    const ids = Object.keys(compat?.models ?? {});
    expect(ids).toEqual(expect.arrayContaining(["vllm/deepseek-chat", "ollama/qwen3:8b", "openrouter/aion-labs/aion-1.0-mini"]));
    expect(compat?.models?.["vllm/deepseek-chat"]?.name).toBe("DeepSeek V3 on our vLLM");
    // openrouter's whitelist keeps the rest of its catalog out; the served whitelist is the ids served.
    expect(ids.filter((id) => id.startsWith("openrouter/"))).toEqual(["openrouter/aion-labs/aion-1.0-mini"]);
    expect([...(compat?.whitelist ?? [])].sort()).toEqual([...ids].sort());
    const text = JSON.stringify(served);
    for (const key of Object.values(UPSTREAM_KEYS)) expect(text).not.toContain(key);
  });

  it.skipIf(!existsSync(opencode))(
    "answers through two named upstreams, each with its key and its own model id; the ledger rows are exact",
    async () => {
      h.fakes.vllm.setDefault({ text: "PONG from vllm", chunks: 3, usage: { input: 321, output: 12 } });
      h.fakes.openrouter.setDefault({ text: "PONG from openrouter", chunks: 2, usage: { input: 222, output: 7 } });
      const [viaVllm, viaOpenrouter] = await Promise.all([run("compat/vllm/deepseek-chat"), run("compat/openrouter/aion-labs/aion-1.0-mini")]);
      for (const [result, text] of [
        [viaVllm, "PONG from vllm"],
        [viaOpenrouter, "PONG from openrouter"],
      ] as const) {
        expect({ code: result?.code, tail: result?.code === 0 ? "" : `${result?.stdout ?? ""}${result?.stderr ?? ""}`.slice(-2000) }).toEqual({ code: 0, tail: "" });
        expect(result?.stdout).toContain(text);
      }
      const vllmModels = h.fakes.vllm.requests.map((r) => (JSON.parse(r.bodyText) as { model: string }).model);
      const orModels = h.fakes.openrouter.requests.map((r) => (JSON.parse(r.bodyText) as { model: string }).model);
      expect(new Set(vllmModels)).toEqual(new Set(["deepseek-chat"]));
      expect(new Set(orModels)).toEqual(new Set(["aion-labs/aion-1.0-mini"]));
      for (const r of h.fakes.vllm.requests) expect(r.headers["authorization"]).toBe(`Bearer ${UPSTREAM_KEYS.vllm}`);
      for (const r of h.fakes.openrouter.requests) expect(r.headers["authorization"]).toBe(`Bearer ${UPSTREAM_KEYS.openrouter}`);
      expect(h.fakes.default.requests).toHaveLength(0);

      const rows = await namedLedgerRows(h);
      const vllmRows = rows.filter((r) => r.model === "vllm/deepseek-chat");
      const orRows = rows.filter((r) => r.model === "openrouter/aion-labs/aion-1.0-mini");
      // One row per request OpenCode made (it may also ask for a title), each exact to the token and priced.
      expect(vllmRows.length).toBe(h.fakes.vllm.requests.length);
      expect(orRows.length).toBe(h.fakes.openrouter.requests.length);
      for (const row of vllmRows) expect(row).toMatchObject({ provider: "compat", endpoint: "chat", status: 200, outcome: "completed", streamed: 1, input_tokens: 321, output_tokens: 12, estimated: 0 });
      for (const row of orRows) expect(row).toMatchObject({ provider: "compat", endpoint: "chat", status: 200, outcome: "completed", input_tokens: 222, output_tokens: 7, estimated: 0, key_name: "openrouter/main" });
      const deepseek = snapshotCost("deepseek", "deepseek-chat");
      const aion = snapshotCost("openrouter", "aion-labs/aion-1.0-mini");
      for (const row of vllmRows) expect(row.cost_usd).toBeCloseTo((321 * deepseek.input + 12 * deepseek.output) / 1_000_000, 12);
      for (const row of orRows) expect(row.cost_usd).toBeCloseTo((222 * aion.input + 7 * aion.output) / 1_000_000, 12);
    },
    240_000,
  );
});
