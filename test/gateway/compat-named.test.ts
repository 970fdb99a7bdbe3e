import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { DEV_TOKEN, UPSTREAM_KEYS, allRequests, namedRow, startNamedHarness, type NamedHarness } from "./compat-named-harness.ts";

/**
 * Named OpenAI-compatible upstreams (providers.compat.upstreams): `<name>/<model>` on
 * /compat/v1 and the bare model on /compat/<name>/v1 reach upstream <name> with ITS key and its
 * own model id; the ledger's model is `<name>/<model>`, priced in that upstream's catalog.
 */
let h: NamedHarness;
beforeAll(async () => {
  h = await startNamedHarness({ policy: ["policy:", "  defaultGroup: everyone", "  groups:", '    everyone: { models: ["*/*"] }', "  routing:", "    aliases:", '      fast: ["compat/vllm/deepseek-chat", "compat/ollama/qwen3:8b"]'].join("\n") });
}, 60_000);
afterAll(() => h.close());
beforeEach(() => h.reset());

const snapshot = JSON.parse(readFileSync(new URL("../../data/models-dev-api.json", import.meta.url), "utf8")) as Record<string, { models: Record<string, { cost: { input: number; output: number } }> }>;
const cost = (provider: string, model: string) => {
  const entry = snapshot[provider]?.models[model];
  if (!entry) throw new Error(`${provider}/${model} is not in the snapshot`);
  return entry.cost;
};
const perM = (tokens: number, price: number) => (tokens * price) / 1_000_000;

function chat(path: string, model: string, extra: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${h.gateway.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${DEV_TOKEN}` },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], ...extra }),
  });
}

const sentBody = (text: string | undefined) => JSON.parse(text ?? "{}") as Record<string, unknown>;

describe("named compat upstreams", () => {
  it("<name>/<model> on /compat/v1 goes to that upstream with its key and its own model id; the ledger says vllm/deepseek-chat at deepseek's price", async () => {
    h.fakes.vllm.enqueue({ usage: { input: 1000, output: 200 } });
    const res = await chat("/compat/v1/chat/completions", "vllm/deepseek-chat");
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    expect(answer.choices[0]?.message.content.length).toBeGreaterThan(0);
    const seen = allRequests(h);
    expect(seen.map((s) => s.fake)).toEqual(["vllm"]);
    expect(seen[0]?.request.headers["authorization"]).toBe(`Bearer ${UPSTREAM_KEYS.vllm}`);
    expect(sentBody(seen[0]?.request.bodyText)["model"]).toBe("deepseek-chat");
    expect(seen[0]?.request.path).toBe("/v1/chat/completions");
    const row = await namedRow(h, res.headers.get("x-gatehouse-request-id") ?? "");
    expect(row).toMatchObject({ provider: "compat", model: "vllm/deepseek-chat", endpoint: "chat", status: 200, outcome: "completed", input_tokens: 1000, output_tokens: 200, estimated: 0 });
    const price = cost("deepseek", "deepseek-chat");
    expect(row.cost_usd).toBeCloseTo(perM(1000, price.input) + perM(200, price.output), 12);
  });

  it("/compat/<name>/v1 with the bare model is the same request: same upstream, key, body model and ledger model", async () => {
    h.fakes.vllm.enqueue({ usage: { input: 10, output: 2 } });
    const res = await chat("/compat/vllm/v1/chat/completions", "deepseek-chat");
    expect(res.status).toBe(200);
    await res.text();
    expect(allRequests(h).map((s) => s.fake)).toEqual(["vllm"]);
    const seen = h.fakes.vllm.requests[0];
    expect(seen?.headers["authorization"]).toBe(`Bearer ${UPSTREAM_KEYS.vllm}`);
    expect(seen?.path).toBe("/v1/chat/completions");
    expect(sentBody(seen?.bodyText)["model"]).toBe("deepseek-chat");
    const row = await namedRow(h, res.headers.get("x-gatehouse-request-id") ?? "");
    expect(row.model).toBe("vllm/deepseek-chat");
  });

  it("each upstream gets its own key, pinned headers and model; a pricing override keyed compat/ollama/<model> prices it", async () => {
    h.fakes.ollama.enqueue({ usage: { input: 3000, output: 500 } });
    const res = await chat("/compat/v1/chat/completions", "ollama/qwen3:8b", { stream: true });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("data: [DONE]");
    const seen = h.fakes.ollama.requests[0];
    expect(seen?.headers["authorization"]).toBe(`Bearer ${UPSTREAM_KEYS.ollama}`);
    expect(seen?.headers["x-ollama-pool"]).toBe("gpu-1");
    expect(sentBody(seen?.bodyText)["model"]).toBe("qwen3:8b");
    expect(h.fakes.vllm.requests).toHaveLength(0);
    const row = await namedRow(h, res.headers.get("x-gatehouse-request-id") ?? "");
    expect(row).toMatchObject({ model: "ollama/qwen3:8b", streamed: 1, input_tokens: 3000, output_tokens: 500 });
    expect(row.cost_usd).toBeCloseTo(perM(3000, 0.1) + perM(500, 0.2), 12);
  });

  it("a model id with '/' after the prefix reaches the upstream whole (openrouter/aion-labs/aion-1.0-mini), from its key pool, at the openrouter catalog price", async () => {
    h.fakes.openrouter.enqueue({ usage: { input: 400, output: 40 } });
    const res = await chat("/compat/v1/chat/completions", "openrouter/aion-labs/aion-1.0-mini");
    expect(res.status).toBe(200);
    await res.text();
    const seen = h.fakes.openrouter.requests[0];
    expect(seen?.headers["authorization"]).toBe(`Bearer ${UPSTREAM_KEYS.openrouter}`);
    expect(sentBody(seen?.bodyText)["model"]).toBe("aion-labs/aion-1.0-mini");
    const row = await namedRow(h, res.headers.get("x-gatehouse-request-id") ?? "");
    expect(row).toMatchObject({ model: "openrouter/aion-labs/aion-1.0-mini", key_name: "openrouter/main" });
    const price = cost("openrouter", "aion-labs/aion-1.0-mini");
    expect(row.cost_usd).toBeCloseTo(perM(400, price.input) + perM(40, price.output), 12);
  });

  it("a model with no configured prefix goes to the unnamed default with the default's key (as before named upstreams)", async () => {
    h.fakes.default.enqueue({ usage: { input: 5, output: 1 } });
    const res = await chat("/compat/v1/chat/completions", "meta-llama/llama-3.1-8b");
    expect(res.status).toBe(200);
    await res.text();
    expect(allRequests(h).map((s) => s.fake)).toEqual(["default"]);
    const seen = h.fakes.default.requests[0];
    expect(seen?.headers["authorization"]).toBe(`Bearer ${UPSTREAM_KEYS.default}`);
    expect(sentBody(seen?.bodyText)["model"]).toBe("meta-llama/llama-3.1-8b");
    const row = await namedRow(h, res.headers.get("x-gatehouse-request-id") ?? "");
    expect(row.model).toBe("meta-llama/llama-3.1-8b");
  });

  it("an alias falls back across named upstreams: vllm answers 503, ollama serves, each attempt with its own key and model", async () => {
    h.fakes.vllm.enqueue({ status: 503 });
    h.fakes.ollama.enqueue({ usage: { input: 50, output: 5 } });
    const res = await chat("/compat/v1/chat/completions", "fast");
    expect(res.status).toBe(200);
    await res.text();
    const [first] = h.fakes.vllm.requests;
    const [second] = h.fakes.ollama.requests;
    expect(first?.headers["authorization"]).toBe(`Bearer ${UPSTREAM_KEYS.vllm}`);
    expect(sentBody(first?.bodyText)["model"]).toBe("deepseek-chat");
    expect(second?.headers["authorization"]).toBe(`Bearer ${UPSTREAM_KEYS.ollama}`);
    expect(sentBody(second?.bodyText)["model"]).toBe("qwen3:8b");
    const row = await namedRow(h, res.headers.get("x-gatehouse-request-id") ?? "");
    expect(row).toMatchObject({ model: "ollama/qwen3:8b", requested_model: "fast", attempts: 2, status: 200 });
    expect(row.cost_usd).toBeCloseTo(perM(50, 0.1) + perM(5, 0.2), 12);
  });

  it("each upstream's key pool is its own: a 429 cools openrouter's key 'main', ollama's key 'main' still serves; the ledger names both apart", async () => {
    h.fakes.openrouter.enqueue({ status: 429 });
    const limited = await chat("/compat/v1/chat/completions", "openrouter/aion-labs/aion-1.0-mini");
    expect(limited.status).toBe(429);
    await limited.text();
    h.fakes.ollama.enqueue({ usage: { input: 7, output: 1 } });
    const served = await chat("/compat/v1/chat/completions", "ollama/qwen3:8b");
    expect(served.status).toBe(200);
    await served.text();
    // openrouter's only key is still cooling: refused by the gateway, not forwarded.
    const cooling = await chat("/compat/v1/chat/completions", "openrouter/aion-labs/aion-1.0-mini");
    expect(cooling.status).toBe(429);
    expect(((await cooling.json()) as { error: { message: string } }).error.message).toContain("cooling down");
    expect(h.fakes.openrouter.requests).toHaveLength(1);
    const row = await namedRow(h, served.headers.get("x-gatehouse-request-id") ?? "");
    expect(row.key_name).toBe("ollama/main");
    const limitedRow = await namedRow(h, limited.headers.get("x-gatehouse-request-id") ?? "");
    expect(limitedRow).toMatchObject({ key_name: "openrouter/main", status: 429 });
  });

  it("/compat/v1/models lists every named upstream's models, prefixed; /compat/<name>/v1/models is that upstream's own list", async () => {
    const res = await fetch(`${h.gateway.url}/compat/v1/models`, { headers: { authorization: `Bearer ${DEV_TOKEN}` } });
    expect(res.status).toBe(200);
    const list = (await res.json()) as { object: string; data: Array<{ id: string; object: string; owned_by: string }> };
    expect(list.object).toBe("list");
    expect(list.data.map((m) => m.id).sort()).toEqual(["ollama/qwen3:8b", "openrouter/aion-labs/aion-1.0-mini", "vllm/deepseek-chat"]);
    expect(list.data.every((m) => m.object === "model")).toBe(true);
    expect(allRequests(h)).toHaveLength(0);

    const own = await fetch(`${h.gateway.url}/compat/ollama/v1/models`, { headers: { authorization: `Bearer ${DEV_TOKEN}` } });
    expect(own.status).toBe(200);
    await own.text();
    expect(allRequests(h).map((s) => s.fake)).toEqual(["ollama"]);
    expect(h.fakes.ollama.requests[0]?.headers["authorization"]).toBe(`Bearer ${UPSTREAM_KEYS.ollama}`);
  });
});
