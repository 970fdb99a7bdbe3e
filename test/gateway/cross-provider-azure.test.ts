import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { KEYS, rowWhenWritten, snapshotCost } from "./harness.ts";
import { CALLERS, startCrossHarness, type CrossHarness } from "./cross-provider-harness.ts";

/**
 * Fallback from OpenAI's API to Azure OpenAI's v1 API: the same Chat Completions or Responses
 * body, the deployment that serves the routed model as `model`, Azure's key in `api-key`; the
 * answer is OpenAI's wire, metered and priced at models.dev's `azure` price.
 */
let h: CrossHarness;
beforeAll(async () => {
  h = await startCrossHarness();
});
afterAll(async () => {
  await h.close();
});

const ALIAS = "gpt-fallback";
const USAGE = { input: 1200, output: 345, cacheRead: 400 };
beforeEach(() => {
  h.anthropic.reset();
  h.cloud.reset();
  h.setPolicy({ groups: { eng: { models: ["openai/*", "azure-openai/*"] }, direct: { models: ["openai/*"] } }, routing: { aliases: { [ALIAS]: ["openai/gpt-5", "azure-openai/gpt-5-mini"] } }, circuitBreaker: { failureThreshold: 1_000_000, openSeconds: 1 } });
});

function post(path: string, body: unknown, as: keyof typeof CALLERS = "everywhere"): Promise<Response> {
  return fetch(`${h.gateway.url}/openai/v1${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${CALLERS[as].token}` }, body: JSON.stringify(body) });
}

const azurePrice = () => {
  const p = snapshotCost("azure", "gpt-5-mini");
  return (USAGE.input * p.input + USAGE.output * p.output + USAGE.cacheRead * (p.cache_read ?? Number.NaN)) / 1_000_000;
};

describe("OpenAI overloaded → Azure OpenAI", () => {
  it("chat completions: served by the deployment, OpenAI's body, row at the azure price; each key only at its own provider", async () => {
    h.anthropic.enqueue({ status: 429 });
    h.cloud.enqueue({ usage: USAGE, text: "served by Azure" });
    const res = await post("/chat/completions", { model: ALIAS, messages: [{ role: "user", content: "hi" }] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; choices: Array<{ message: { content: string } }> };
    expect(body.object).toBe("chat.completion");
    expect(body.choices[0]?.message.content).toBe("served by Azure");
    const direct = h.anthropic.requests;
    expect(direct.map((r) => r.path)).toEqual(["/v1/chat/completions"]);
    expect(direct[0]?.headers["authorization"]).toBe(`Bearer ${KEYS.openai}`);
    expect(direct[0]?.headers["api-key"]).toBeUndefined();
    const calls = h.cloud.requests;
    expect(calls.map((r) => `${r.path}${r.search}`)).toEqual(["/openai/v1/chat/completions"]);
    expect(calls[0]?.headers["api-key"]).toBe(h.cloud.keys.azure);
    expect(calls[0]?.headers["authorization"]).toBeUndefined();
    expect(JSON.stringify(calls[0])).not.toContain(KEYS.openai);
    expect(JSON.parse(calls[0]?.bodyText ?? "{}")).toMatchObject({ model: "reasoner" });
    const row = await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? "");
    expect(row).toMatchObject({ provider: "azure-openai", model: "gpt-5-mini", requested_provider: "openai", requested_model: ALIAS, attempts: 2, status: 200, input_tokens: 1200, output_tokens: 345, cache_read_tokens: 400, estimated: 0, unpriced: 0 });
    expect(row.cost_usd).toBeCloseTo(azurePrice(), 12);
  });

  it("a streamed chat: OpenAI's chunks, the usage chunk the gateway asked for hidden, metered to the token", async () => {
    h.anthropic.enqueue({ status: 503 });
    h.cloud.enqueue({ usage: USAGE, chunks: 3 });
    const res = await post("/chat/completions", { model: ALIAS, stream: true, messages: [{ role: "user", content: "hi" }] });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    const chunks = text
      .split("\n\n")
      .filter((b) => b.startsWith("data: {"))
      .map((b) => JSON.parse(b.slice("data: ".length)) as { usage?: unknown; choices: unknown[] });
    expect(chunks.length).toBeGreaterThan(0);
    // The client did not ask for usage: the chunk the gateway asked for does not reach it.
    expect(chunks.filter((c) => c.usage)).toEqual([]);
    expect(JSON.parse(h.cloud.requests[0]?.bodyText ?? "{}")).toMatchObject({ model: "reasoner", stream: true, stream_options: { include_usage: true } });
    const row = await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? "");
    expect(row).toMatchObject({ provider: "azure-openai", model: "gpt-5-mini", attempts: 2, streamed: 1, input_tokens: 1200, output_tokens: 345, cache_read_tokens: 400, estimated: 0 });
    expect(row.cost_usd).toBeCloseTo(azurePrice(), 12);
  });

  it("the Responses API crosses to /openai/v1/responses", async () => {
    h.anthropic.enqueue({ status: 500 });
    h.cloud.enqueue({ usage: USAGE });
    const res = await post("/responses", { model: ALIAS, input: "hi" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { object: string }).object).toBe("response");
    expect(h.cloud.requests.map((r) => r.path)).toEqual(["/openai/v1/responses"]);
    expect(JSON.parse(h.cloud.requests[0]?.bodyText ?? "{}")).toMatchObject({ model: "reasoner", store: false });
  });

  it("no fallback for a caller not allowed Azure, nor for a model no declared deployment serves, nor for embeddings", async () => {
    h.anthropic.enqueue({ status: 429 });
    const refused = await post("/chat/completions", { model: ALIAS, messages: [{ role: "user", content: "hi" }] }, "directOnly");
    expect(refused.status).toBe(429);
    await refused.arrayBuffer();

    h.setPolicy({ groups: { eng: { models: ["openai/*", "azure-openai/*"] } }, routing: { aliases: { [ALIAS]: ["openai/gpt-5", "azure-openai/gpt-4o"] } }, circuitBreaker: { failureThreshold: 1_000_000, openSeconds: 1 } });
    h.anthropic.enqueue({ status: 429 });
    const undeclared = await post("/chat/completions", { model: ALIAS, messages: [{ role: "user", content: "hi" }] });
    expect(undeclared.status).toBe(503);
    expect(((await undeclared.json()) as { error: { message: string } }).error.message).toContain("providers.azure-openai.deployments");

    h.setPolicy({ groups: { eng: { models: ["openai/*", "azure-openai/*"] } }, routing: { aliases: { [ALIAS]: ["openai/text-embedding-3-small", "azure-openai/gpt-5-mini"] } }, circuitBreaker: { failureThreshold: 1_000_000, openSeconds: 1 } });
    h.anthropic.enqueue({ status: 429 });
    const embeddings = await post("/embeddings", { model: ALIAS, input: "hi" });
    expect(embeddings.status).toBe(429);
    await embeddings.arrayBuffer();
    expect(h.cloud.requests).toHaveLength(0);
  });
});
