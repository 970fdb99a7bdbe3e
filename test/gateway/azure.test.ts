import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CLIENT_TOKEN, readChunks, rowWhenWritten, snapshotCost } from "./harness.ts";
import { startAzureHarness, type AzureHarness } from "./azure-harness.ts";

/** The Azure OpenAI route end to end: deployments and v1 API through the gateway to the wire-exact fake resource, metered at models.dev's azure prices. */
let h: AzureHarness;
beforeAll(async () => {
  h = await startAzureHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.fake.reset();
});

const perM = (tokens: number, usdPerM: number): number => (tokens * usdPerM) / 1_000_000;
const headers = { "api-key": CLIENT_TOKEN, "content-type": "application/json" };
const chatBody = (extra: Record<string, unknown> = {}) => JSON.stringify({ messages: [{ role: "user", content: "hi" }], ...extra });

async function post(path: string, body: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${h.gateway.url}/azure-openai${path}`, { method: "POST", headers, body, ...init });
}

describe("azure-openai deployments API", () => {
  it("answers chat on a deployment with Azure's fields, the org key in api-key, priced as the model the deployment serves", async () => {
    h.fake.enqueue({ text: "Hello from Azure.", usage: { input: 900, cacheRead: 100, output: 50 } });
    const res = await post("/openai/deployments/chat-prod/chat/completions?api-version=2024-10-21", chatBody());
    const json = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(json)).toBe(200);
    expect(json["prompt_filter_results"]).toBeDefined();
    expect(JSON.stringify(json)).toContain("Hello from Azure.");
    const arrived = h.fake.requests[0];
    expect(arrived?.rawPath).toBe("/openai/deployments/chat-prod/chat/completions");
    expect(arrived?.search).toBe("?api-version=2024-10-21");
    expect(arrived?.headers["api-key"]).toBe(h.fake.keys.azure);
    expect(arrived?.headers["authorization"]).toBeUndefined();
    // The end user travels as `user` (every api-version accepts it), the caller's anonymous id.
    expect(JSON.parse(arrived?.bodyText ?? "{}")).toMatchObject({ user: expect.any(String) });
    const row = await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? "");
    const price = snapshotCost("azure", "gpt-4o-mini");
    expect({ provider: row.provider, model: row.model, requested: row.requested_model, endpoint: row.endpoint, estimated: row.estimated, unpriced: row.unpriced }).toEqual({
      provider: "azure-openai",
      model: "gpt-4o-mini",
      requested: "chat-prod",
      endpoint: "chat",
      estimated: 0,
      unpriced: 0,
    });
    expect([row.input_tokens, row.cache_read_tokens, row.output_tokens]).toEqual([900, 100, 50]);
    expect(row.cost_usd).toBeCloseTo(perM(900, price.input) + perM(100, price.cache_read ?? 0) + perM(50, price.output), 12);
  });

  it("streams with usage injected and hidden, Azure's prompt-filter chunk passed through, reasoning priced as output", async () => {
    h.fake.enqueue({ text: "one two three", chunks: 3, usage: { input: 700, cacheRead: 300, output: 120, reasoning: 80 } });
    const res = await post("/openai/deployments/reasoner/chat/completions?api-version=2025-04-01-preview", chatBody({ stream: true }));
    expect(res.status).toBe(200);
    const { text } = await readChunks(res);
    const events = text.split("\n\n").filter((e) => e.startsWith("data: {"));
    expect(JSON.parse(events[0]?.slice(6) ?? "{}")).toMatchObject({ choices: [], model: "", prompt_filter_results: expect.any(Array) });
    // The usage chunk the client did not ask for is not shown.
    expect(events.some((e) => /"choices":\[\],.*"usage":\{/.test(e))).toBe(false);
    expect(text).toContain("data: [DONE]");
    expect(JSON.parse(h.fake.requests[0]?.bodyText ?? "{}")).toMatchObject({ stream_options: { include_usage: true } });
    const row = await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? "");
    const price = snapshotCost("azure", "gpt-5-mini");
    expect({ model: row.model, requested: row.requested_model, streamed: row.streamed, estimated: row.estimated }).toEqual({ model: "gpt-5-mini", requested: "reasoner", streamed: 1, estimated: 0 });
    expect([row.input_tokens, row.cache_read_tokens, row.output_tokens, row.reasoning_tokens]).toEqual([700, 300, 120, 80]);
    expect(row.cost_usd).toBeCloseTo(perM(700, price.input) + perM(300, price.cache_read ?? 0) + perM(120, price.output), 12);
  });

  it("passes Azure's own errors through unchanged: a content-filter refusal with its innererror, a 429", async () => {
    h.fake.enqueue({ status: 400, error: { type: "content_filter", message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy." } });
    const filtered = await post("/openai/deployments/chat-prod/chat/completions?api-version=2024-10-21", chatBody());
    expect(filtered.status).toBe(400);
    expect(await filtered.json()).toMatchObject({ error: { code: "content_filter", innererror: { code: "ResponsibleAIPolicyViolation", content_filter_result: { violence: { filtered: true, severity: "medium" } } } } });
    h.fake.enqueue({ status: 429 });
    const limited = await post("/openai/deployments/chat-prod/chat/completions?api-version=2024-10-21", chatBody());
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("1");
    expect(await limited.json()).toMatchObject({ error: { code: "429", message: expect.stringContaining("exceeded token rate limit") } });
  });

  it("answers an api-version the resource does not know with Azure's own 400", async () => {
    const res = await post("/openai/deployments/chat-prod/chat/completions?api-version=2031-01-01", chatBody());
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: "BadRequest", message: "API version not supported" } });
  });
});

describe("azure-openai v1 API (OpenAI's wire, the deployment as the model)", () => {
  it("answers chat and responses (sent with store: false), each priced as its deployment's model", async () => {
    h.fake.enqueue({ usage: { input: 40, output: 10 } });
    const chat = await post("/openai/v1/chat/completions", JSON.stringify({ model: "chat-big", messages: [{ role: "user", content: "hi" }] }));
    expect(chat.status).toBe(200);
    expect(((await chat.json()) as { model: string }).model).toBe("gpt-4o");
    h.fake.enqueue({ usage: { input: 60, cacheRead: 40, output: 20, reasoning: 5 } });
    const responses = await post("/openai/v1/responses", JSON.stringify({ model: "reasoner", input: "hi" }));
    expect(responses.status).toBe(200);
    expect(JSON.parse(h.fake.requests[1]?.bodyText ?? "{}")).toMatchObject({ model: "reasoner", store: false });
    const rows = await Promise.all([chat, responses].map((r) => rowWhenWritten(h, r.headers.get("x-gatehouse-request-id") ?? "")));
    expect(rows.map((r) => [r.endpoint, r.requested_model, r.model])).toEqual([
      ["chat", "chat-big", "gpt-4o"],
      ["responses", "reasoner", "gpt-5-mini"],
    ]);
    const big = snapshotCost("azure", "gpt-4o");
    const mini = snapshotCost("azure", "gpt-5-mini");
    expect(rows[0]?.cost_usd).toBeCloseTo(perM(40, big.input) + perM(10, big.output), 12);
    expect([rows[1]?.input_tokens, rows[1]?.cache_read_tokens, rows[1]?.output_tokens, rows[1]?.reasoning_tokens]).toEqual([60, 40, 20, 5]);
    expect(rows[1]?.cost_usd).toBeCloseTo(perM(60, mini.input) + perM(40, mini.cache_read ?? 0) + perM(20, mini.output), 12);
  });

  it("embeds on a deployment and on v1, priced at the embedding model's input price", async () => {
    h.fake.setDefault({ usage: { input: 64, output: 0 } });
    const onDeployment = await post("/openai/deployments/embed/embeddings?api-version=2024-10-21", JSON.stringify({ input: ["a", "b"] }));
    const onV1 = await post("/openai/v1/embeddings", JSON.stringify({ model: "embed", input: "a" }));
    for (const res of [onDeployment, onV1]) expect(res.status).toBe(200);
    expect(((await onDeployment.json()) as { data: unknown[] }).data).toHaveLength(2);
    const price = snapshotCost("azure", "text-embedding-3-small");
    for (const res of [onDeployment, onV1]) {
      const row = await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? "");
      expect([row.endpoint, row.model, row.requested_model, row.input_tokens]).toEqual(["embeddings", "text-embedding-3-small", "embed", 64]);
      expect(row.cost_usd).toBeCloseTo(perM(64, price.input), 12);
    }
  });

  it("lists models with the org key, unmetered, and takes the v1 api-version clients still send", async () => {
    const res = await fetch(`${h.gateway.url}/azure-openai/openai/v1/models?api-version=preview`, { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: unknown[] }).data.length).toBeGreaterThan(0);
    expect(h.fake.requests[0]?.headers["api-key"]).toBe(h.fake.keys.azure);
    expect(h.fake.requests[0]?.headers["authorization"]).toBeUndefined();
  });
});

describe("azure-openai with a key pool", () => {
  let pooled: AzureHarness;
  beforeAll(async () => {
    // Two names for the resource's key (Azure gives every resource KEY1 and KEY2); a 429 on one moves to the other.
    pooled = await startAzureHarness({ providerLines: ["    keys:", "      - { name: key1, env: AZURE_KEY1 }", "      - { name: key2, env: AZURE_KEY2 }"], env: (fake) => ({ AZURE_KEY1: fake.keys.azure, AZURE_KEY2: fake.keys.azure }) });
  });
  afterAll(async () => {
    await pooled.close();
  });

  it("sends each attempt with a pool key in api-key, moves to the other key on Azure's 429, and records which key served", async () => {
    const key = pooled.fake.keys.azure;
    const { gateway } = pooled;
    pooled.fake.enqueue({ status: 429 });
    pooled.fake.enqueue({ usage: { input: 10, output: 2 } });
    const res = await fetch(`${gateway.url}/azure-openai/openai/deployments/chat-prod/chat/completions?api-version=2024-10-21`, { method: "POST", headers, body: chatBody() });
    expect(res.status).toBe(200);
    expect(pooled.fake.requests.map((r) => r.headers["api-key"])).toEqual([key, key]);
    const row = await rowWhenWritten(pooled, res.headers.get("x-gatehouse-request-id") ?? "");
    expect(row.attempts).toBe(2);
    expect(["key1", "key2"]).toContain(row.key_name);
    expect(row.model).toBe("gpt-4o-mini");
  });
});
