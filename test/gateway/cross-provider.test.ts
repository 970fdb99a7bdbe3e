import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ledgerRows, snapshotCost, KEYS, rowWhenWritten } from "./harness.ts";
import { AWS_SESSION_TOKEN } from "./bedrock-vertex-harness.ts";
import { CALLERS, startCrossHarness, type CrossHarness } from "./cross-provider-harness.ts";

/**
 * Fallback from Anthropic's direct API to Claude on Vertex AI and on Bedrock: the client
 * speaks Anthropic's Messages API only, and when Anthropic answers 529/429 the same request is
 * served by the cloud, through that provider's own route (its path, body, signer), and the
 * answer comes back exactly as Anthropic's would. The ledger says which provider served it
 * and prices it at that provider's catalog price.
 */
let h: CrossHarness;
beforeAll(async () => {
  h = await startCrossHarness();
});
afterAll(async () => {
  await h.close();
});

const VERTEX_HAIKU = "claude-haiku-4-5@20251001";
const BEDROCK_HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0";
const ALIAS = "claude-fallback";
/** Tokens of every kind, each a different count, so a swapped or dropped kind shows. */
const USAGE = { input: 1200, output: 345, cacheRead: 4000, cacheWrite5m: 600 };
const perM = (tokens: number, price: number | undefined) => (tokens * (price ?? Number.NaN)) / 1_000_000;
const priced = (provider: string, model: string) => {
  const p = snapshotCost(provider, model);
  return perM(USAGE.input, p.input) + perM(USAGE.output, p.output) + perM(USAGE.cacheRead, p.cache_read) + perM(USAGE.cacheWrite5m, p.cache_write);
};

const groups = { eng: { models: ["anthropic/*", "bedrock/*", "vertex/*", "google-ai-studio/*"] }, direct: { models: ["anthropic/*"] } };
// One gateway serves every test: a breaker that opened on earlier tests' 529s would reorder later chains.
function policyWith(chain: string[]) {
  return { groups, routing: { aliases: { [ALIAS]: chain } }, circuitBreaker: { failureThreshold: 1_000_000, openSeconds: 1 } };
}

beforeEach(() => {
  h.anthropic.reset();
  h.cloud.reset();
  h.setPolicy(policyWith(["anthropic/claude-opus-4-1", `vertex/${VERTEX_HAIKU}`]), { anthropic: { zeroDataRetention: false, keys: undefined }, bedrock: { zeroDataRetention: false, upstream: h.cloud.url }, vertex: { zeroDataRetention: false } });
});

const messages = (extra: Record<string, unknown> = {}) => ({ model: ALIAS, max_tokens: 200, messages: [{ role: "user", content: "hi" }], ...extra });

function post(path: string, body: unknown, as: keyof typeof CALLERS = "everywhere", headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${h.gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": CALLERS[as].token, ...headers }, body: JSON.stringify(body) });
}

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Server-Sent Events as Anthropic's SDK reads them: `event:` and one `data:` line, blank line between. */
function sseEvents(text: string): SseEvent[] {
  expect(text.endsWith("\n\n")).toBe(true);
  return text
    .split("\n\n")
    .filter((block) => block.length > 0)
    .map((block) => {
      const lines = block.split("\n");
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^event: [a-z_]+$/);
      expect(lines[1]).toMatch(/^data: \{/);
      const event = (lines[0] ?? "").slice("event: ".length);
      const data = JSON.parse((lines[1] ?? "").slice("data: ".length)) as Record<string, unknown>;
      // Anthropic's data always names its own event type.
      expect(data["type"]).toBe(event);
      return { event, data };
    });
}

/** An event with the parts that differ between answers (ids, model names) masked. */
function normalised(e: SseEvent): SseEvent {
  return JSON.parse(
    JSON.stringify(e)
      .replace(/"id":"[^"]+"/g, '"id":"*"')
      .replace(/"model":"[^"]+"/g, '"model":"*"'),
  ) as SseEvent;
}

/** What Anthropic's direct API streams for the same behaviour (ping events aside: keep-alives, which Bedrock does not send). */
async function directStream(): Promise<SseEvent[]> {
  h.anthropic.enqueue({ usage: USAGE, chunks: 3 });
  const res = await post("/anthropic/v1/messages", { ...messages({ stream: true }), model: "claude-haiku-4-5" });
  expect(res.status).toBe(200);
  const events = sseEvents(await res.text()).filter((e) => e.event !== "ping");
  h.anthropic.reset();
  return events.map(normalised);
}

const modelRequests = (fake: CrossHarness["cloud"]) => fake.requests.filter((r) => r.path !== "/token");

describe.each([
  { name: "Vertex AI", provider: "vertex", model: VERTEX_HAIKU, catalog: "google-vertex" },
  { name: "Bedrock", provider: "bedrock", model: BEDROCK_HAIKU, catalog: "amazon-bedrock" },
])("Anthropic direct overloaded → $name", ({ provider, model, catalog }) => {
  beforeEach(() => h.setPolicy(policyWith(["anthropic/claude-opus-4-1", `${provider}/${model}`])));

  it("a JSON answer: the same request served there, in Anthropic's body, priced at that provider's price", async () => {
    h.anthropic.enqueue({ status: 529 });
    h.cloud.enqueue({ usage: USAGE, text: "served by the fallback" });
    const res = await post("/anthropic/v1/messages?beta=true", messages({ metadata: { user_id: "client-chosen" } }), "everywhere", { "anthropic-beta": "prompt-caching-2024-07-31, output-128k-2025-02-19" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    // Anthropic's Message object, field for field.
    expect(Object.keys(body).sort()).toEqual(["content", "id", "model", "role", "stop_reason", "stop_sequence", "type", "usage"]);
    expect(body).toMatchObject({ type: "message", role: "assistant", content: [{ type: "text", text: "served by the fallback" }], stop_reason: "end_turn" });
    expect(body["usage"]).toMatchObject({ input_tokens: 1200, output_tokens: 345, cache_read_input_tokens: 4000, cache_creation_input_tokens: 600 });

    // Anthropic got the request first, with its own key and nothing of the cloud's.
    expect(h.anthropic.requests).toHaveLength(1);
    const first = h.anthropic.requests[0];
    expect(first?.headers["x-api-key"]).toBe(KEYS.anthropic);
    expect(JSON.parse(first?.bodyText ?? "{}")).toMatchObject({ model: "claude-opus-4-1" });
    // Then the cloud, as that provider wants it.
    const calls = modelRequests(h.cloud);
    expect(calls).toHaveLength(1);
    const call = calls[0];
    const sent = JSON.parse(call?.bodyText ?? "{}") as Record<string, unknown>;
    expect(sent["model"]).toBeUndefined();
    expect(sent["stream"]).toBeUndefined();
    expect(sent["max_tokens"]).toBe(200);
    expect(call?.search).toBe("");
    expect(call?.headers["anthropic-version"]).toBeUndefined();
    expect(call?.headers["x-api-key"]).toBeUndefined();
    expect(JSON.stringify(call)).not.toContain(KEYS.anthropic);
    expect(JSON.stringify(call)).not.toContain(CALLERS.everywhere.token);
    if (provider === "vertex") {
      expect(call?.path).toBe(`/v1/projects/${h.cloud.vertex.project}/locations/us-east5/publishers/anthropic/models/${model}:rawPredict`);
      expect(call?.headers["authorization"]).toMatch(/^Bearer ya29\./);
      expect(sent["anthropic_version"]).toBe("vertex-2023-10-16");
      expect(call?.headers["anthropic-beta"]).toBe("prompt-caching-2024-07-31, output-128k-2025-02-19");
    } else {
      expect(call?.rawPath).toBe(`/model/${encodeURIComponent(model)}/invoke`);
      expect(call?.headers["authorization"]).toMatch(/^AWS4-HMAC-SHA256 Credential=/);
      expect(call?.headers["x-amz-security-token"]).toBe(AWS_SESSION_TOKEN);
      expect(sent["anthropic_version"]).toBe("bedrock-2023-05-31");
      expect(sent["anthropic_beta"]).toEqual(["prompt-caching-2024-07-31", "output-128k-2025-02-19"]);
      expect(call?.headers["anthropic-beta"]).toBeUndefined();
    }

    const row = await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? "");
    expect(row).toMatchObject({
      provider,
      model,
      requested_provider: "anthropic",
      requested_model: ALIAS,
      attempts: 2,
      status: 200,
      outcome: "completed",
      streamed: 0,
      input_tokens: 1200,
      output_tokens: 345,
      cache_read_tokens: 4000,
      cache_write_5m_tokens: 600,
      estimated: 0,
      unpriced: 0,
    });
    expect(row.cost_usd).toBeCloseTo(priced(catalog, model), 12);

    // /metrics counts it under the provider that served it, never under the one asked.
    const metrics = await (await fetch(`${h.gateway.url}/metrics`, { headers: { authorization: `Bearer ${CALLERS.admin.token}` } })).text();
    expect(metrics).toMatch(new RegExp(`gatehouse_requests_total\\{provider="${provider}",model="${model.replace(/[.:@]/g, (c) => `\\${c}`)}",outcome="completed",status="2xx"\\} [1-9]`));
    expect(metrics).not.toContain(`provider="anthropic",model="${model}"`);
  });

  it("a stream: Anthropic's Server-Sent Events exactly (Bedrock's event stream re-framed, its invocation metrics not leaked), metered to the token", async () => {
    const direct = await directStream();
    h.anthropic.enqueue({ status: 429 });
    h.cloud.enqueue({ usage: USAGE, chunks: 3 });
    const res = await post("/anthropic/v1/messages", messages({ stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const text = await res.text();
    expect(text).not.toContain("amazon-bedrock-invocationMetrics");
    expect(text).not.toContain("inputTokenCount");
    const events = sseEvents(text).filter((e) => e.event !== "ping");
    expect(events.map(normalised)).toEqual(direct);
    const call = modelRequests(h.cloud)[0];
    if (provider === "vertex") expect(call?.path).toMatch(/:streamRawPredict$/);
    else expect(call?.rawPath).toBe(`/model/${encodeURIComponent(model)}/invoke-with-response-stream`);

    const row = await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? "");
    expect(row).toMatchObject({
      provider,
      model,
      requested_provider: "anthropic",
      requested_model: ALIAS,
      attempts: 2,
      status: 200,
      outcome: "completed",
      streamed: 1,
      input_tokens: 1200,
      output_tokens: 345,
      cache_read_tokens: 4000,
      cache_write_5m_tokens: 600,
      estimated: 0,
    });
    expect(row.cost_usd).toBeCloseTo(priced(catalog, model), 12);
  });

  it("a non-retryable error there reaches the client as Anthropic's error body with the same status, quoting the provider's message", async () => {
    h.anthropic.enqueue({ status: 529 });
    h.cloud.enqueue({ status: 400, error: { type: provider === "bedrock" ? "ValidationException" : "INVALID_ARGUMENT", message: "extraneous key [output_config] is not permitted" } });
    const res = await post("/anthropic/v1/messages", messages());
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/json");
    const body = (await res.json()) as { type: string; error: { type: string; message: string }; request_id: string };
    expect(Object.keys(body).sort()).toEqual(["error", "request_id", "type"]);
    expect(body).toMatchObject({ type: "error", error: { type: "invalid_request_error" }, request_id: res.headers.get("x-gatehouse-request-id") });
    expect(body.error.message).toContain(model);
    expect(body.error.message).toContain("extraneous key [output_config] is not permitted");
    const row = await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? "");
    expect(row).toMatchObject({ provider, model, attempts: 2, status: 400, error_code: "upstream_400", cost_usd: 0 });
  });

  it("the last entry rate limited too: its 429 in Anthropic's error body", async () => {
    h.anthropic.enqueue({ status: 529 });
    h.cloud.enqueue({ status: 429 });
    const res = await post("/anthropic/v1/messages", messages({ stream: true }));
    expect(res.status).toBe(429);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    expect(body).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    expect(body.error.message).toContain("retry later");
    const row = await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? "");
    expect(row).toMatchObject({ provider, model, attempts: 2, status: 429, error_code: "upstream_429", cost_usd: 0 });
  });
});

describe("a fallback that cannot be reached", () => {
  it("moves on to the next entry, and when it was the last, answers Anthropic's 502 with the row on the provider that failed", async () => {
    // Nothing listens on port 1: the connection is refused.
    h.setPolicy(policyWith(["anthropic/claude-opus-4-1", `bedrock/${BEDROCK_HAIKU}`, `vertex/${VERTEX_HAIKU}`]), { bedrock: { upstream: "http://127.0.0.1:1" } });
    h.anthropic.enqueue({ status: 529 });
    h.cloud.enqueue({ usage: USAGE });
    const served = await post("/anthropic/v1/messages", messages());
    expect(served.status).toBe(200);
    await served.arrayBuffer();
    expect(await rowWhenWritten(h, served.headers.get("x-gatehouse-request-id") ?? "")).toMatchObject({ provider: "vertex", model: VERTEX_HAIKU, attempts: 3, status: 200 });

    h.setPolicy(policyWith(["anthropic/claude-opus-4-1", `bedrock/${BEDROCK_HAIKU}`]), { bedrock: { upstream: "http://127.0.0.1:1" } });
    h.anthropic.enqueue({ status: 529 });
    const failed = await post("/anthropic/v1/messages", messages());
    expect(failed.status).toBe(502);
    expect(await failed.json()).toMatchObject({ type: "error", error: { type: "api_error" } });
    expect(await rowWhenWritten(h, failed.headers.get("x-gatehouse-request-id") ?? "")).toMatchObject({ provider: "bedrock", requested_provider: "anthropic", model: BEDROCK_HAIKU, attempts: 2, outcome: "upstream_failed", cost_usd: 0 });
  });
});

describe("a Bedrock stream that fails once it started", () => {
  it("an exception frame mid-stream reaches the client as Anthropic's error event on a clean boundary, nothing of Bedrock's framing", async () => {
    h.setPolicy(policyWith(["anthropic/claude-opus-4-1", `bedrock/${BEDROCK_HAIKU}`]));
    h.anthropic.enqueue({ status: 529 });
    h.cloud.enqueue({ usage: USAGE, chunks: 5, errorEventAfter: 4 });
    const res = await post("/anthropic/v1/messages", messages({ stream: true }));
    expect(res.status).toBe(200);
    const events = sseEvents(await res.text());
    expect(events.map((e) => e.event)).toEqual(["message_start", "content_block_start", "content_block_delta", "content_block_delta", "error"]);
    expect(events.at(-1)?.data).toEqual({ type: "error", error: { type: "api_error", message: "The fallback provider (Amazon Bedrock) ended the stream with internalServerException; the answer is incomplete." } });
    const row = await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? "");
    expect(row).toMatchObject({ provider: "bedrock", model: BEDROCK_HAIKU, requested_provider: "anthropic", attempts: 2, streamed: 1 });
  });
});

describe("who may fall back, and to what", () => {
  it("a caller not allowed the fallback model gets Anthropic's own error, never the fallback's answer", async () => {
    h.setPolicy(policyWith(["anthropic/claude-opus-4-1", `bedrock/${BEDROCK_HAIKU}`]));
    h.anthropic.enqueue({ status: 529 });
    const res = await post("/anthropic/v1/messages", messages(), "directOnly");
    expect(res.status).toBe(529);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "overloaded_error" } });
    expect(modelRequests(h.cloud)).toHaveLength(0);
  });

  it("a chain whose only entries are elsewhere is refused for a caller allowed none of them", async () => {
    h.setPolicy(policyWith([`bedrock/${BEDROCK_HAIKU}`, `vertex/${VERTEX_HAIKU}`]));
    const res = await post("/anthropic/v1/messages", messages(), "directOnly");
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "permission_error" } });
    expect(h.anthropic.requests).toHaveLength(0);
    expect(modelRequests(h.cloud)).toHaveLength(0);
  });

  it("zero data retention: a request ZDR applies to never falls back to a provider without it, and does to one with it", async () => {
    h.setPolicy(policyWith(["anthropic/claude-opus-4-1", `bedrock/${BEDROCK_HAIKU}`]), { anthropic: { zeroDataRetention: true } });
    h.anthropic.enqueue({ status: 529 });
    const refused = await post("/anthropic/v1/messages", messages());
    expect(refused.status).toBe(529);
    await refused.arrayBuffer();
    expect(modelRequests(h.cloud)).toHaveLength(0);

    h.setPolicy(policyWith(["anthropic/claude-opus-4-1", `bedrock/${BEDROCK_HAIKU}`]), { anthropic: { zeroDataRetention: true }, bedrock: { zeroDataRetention: true } });
    h.anthropic.enqueue({ status: 529 });
    const served = await post("/anthropic/v1/messages", messages());
    expect(served.status).toBe(200);
    await served.arrayBuffer();
    expect(modelRequests(h.cloud)).toHaveLength(1);
  });

  it("every key of Anthropic's pool cooling: the request goes straight to the fallback, never refused while it can serve", async () => {
    h.setPolicy(policyWith(["anthropic/claude-opus-4-1", `bedrock/${BEDROCK_HAIKU}`]), { anthropic: { keys: [{ name: "solo", env: "ANTHROPIC_API_KEY" }] } });
    h.anthropic.enqueue({ status: 429, error: { type: "rate_limit_error", message: "slow down" } });
    const first = await post("/anthropic/v1/messages", messages());
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    // The one key now cools for its retry-after; the next request does not wait for it.
    const second = await post("/anthropic/v1/messages", messages());
    expect(second.status).toBe(200);
    await second.arrayBuffer();
    expect(h.anthropic.requests).toHaveLength(1);
    expect(modelRequests(h.cloud)).toHaveLength(2);
    const row = await rowWhenWritten(h, second.headers.get("x-gatehouse-request-id") ?? "");
    expect(row).toMatchObject({ provider: "bedrock", requested_provider: "anthropic", attempts: 1 });
  });

  it("rate limits count the request once, however many providers it took", async () => {
    h.setPolicy({ ...policyWith(["anthropic/claude-opus-4-1", `bedrock/${BEDROCK_HAIKU}`]), groups: { ...groups, eng: { ...groups.eng, rateLimit: { perUser: { requestsPerMinute: 2 } } } } });
    h.anthropic.enqueue({ status: 529 });
    const fellBack = await post("/anthropic/v1/messages", messages());
    expect(fellBack.status).toBe(200);
    await fellBack.arrayBuffer();
    const second = await post("/anthropic/v1/messages", messages());
    expect(second.status).toBe(200);
    await second.arrayBuffer();
    const third = await post("/anthropic/v1/messages", messages());
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    expect(modelRequests(h.cloud)).toHaveLength(1);
    expect(h.anthropic.requests).toHaveLength(2);
  });

  it("once a byte reached the client there is no fallback: a stream cut mid-way ends with Anthropic's error event, as today", async () => {
    h.setPolicy(policyWith(["anthropic/claude-opus-4-1", `bedrock/${BEDROCK_HAIKU}`]));
    h.anthropic.enqueue({ usage: USAGE, chunks: 5, failAfterEvents: 3 });
    const res = await post("/anthropic/v1/messages", messages({ stream: true }));
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("event: error");
    expect(modelRequests(h.cloud)).toHaveLength(0);
    const row = await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? "");
    expect(row).toMatchObject({ provider: "anthropic", model: "claude-opus-4-1", attempts: 1, outcome: "upstream_failed" });
  });

  it("credentials stay with their provider both ways: a cloud entry first, then Anthropic direct", async () => {
    h.setPolicy(policyWith([`bedrock/${BEDROCK_HAIKU}`, `vertex/${VERTEX_HAIKU}`, "anthropic/claude-haiku-4-5"]));
    h.cloud.enqueue({ status: 503 });
    h.cloud.enqueue({ status: 500 });
    h.anthropic.enqueue({ usage: USAGE });
    const res = await post("/anthropic/v1/messages", messages());
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const cloudCalls = modelRequests(h.cloud);
    expect(cloudCalls.map((r) => r.headers["authorization"]?.split(" ")[0])).toEqual(["AWS4-HMAC-SHA256", "Bearer"]);
    for (const call of cloudCalls) expect(JSON.stringify(call)).not.toContain(KEYS.anthropic);
    const direct = h.anthropic.requests;
    expect(direct).toHaveLength(1);
    expect(direct[0]?.headers["x-api-key"]).toBe(KEYS.anthropic);
    expect(direct[0]?.headers["authorization"]).toBeUndefined();
    expect(direct[0]?.headers["x-amz-security-token"]).toBeUndefined();
    expect(direct[0]?.headers["x-amz-date"]).toBeUndefined();
    expect(JSON.parse(direct[0]?.bodyText ?? "{}")).toMatchObject({ model: "claude-haiku-4-5" });
    const row = (await ledgerRows(h)).find((r) => r.request_id === res.headers.get("x-gatehouse-request-id"));
    expect(row).toMatchObject({ provider: "anthropic", requested_provider: null, model: "claude-haiku-4-5", attempts: 3 });
  });

  it("an endpoint without an exact counterpart never crosses: count_tokens stays on Anthropic", async () => {
    h.setPolicy(policyWith([`bedrock/${BEDROCK_HAIKU}`, `vertex/${VERTEX_HAIKU}`]));
    const res = await post("/anthropic/v1/messages/count_tokens", { model: ALIAS, messages: [{ role: "user", content: "hi" }] });
    expect(res.status).toBe(403);
    await res.arrayBuffer();
    expect(modelRequests(h.cloud)).toHaveLength(0);

    h.setPolicy(policyWith(["anthropic/claude-haiku-4-5", `bedrock/${BEDROCK_HAIKU}`]));
    h.anthropic.enqueue({ status: 529 });
    const overloaded = await post("/anthropic/v1/messages/count_tokens", { model: ALIAS, messages: [{ role: "user", content: "hi" }] });
    expect(overloaded.status).toBe(529);
    await overloaded.arrayBuffer();
    expect(modelRequests(h.cloud)).toHaveLength(0);
  });

  it("a Gemini route never crosses to Gemini on Vertex AI (another wire format, not a member of the family)", async () => {
    h.setPolicy({ ...policyWith([]), routing: { aliases: { "gemini-fallback": ["google-ai-studio/gemini-2.5-flash", "vertex/gemini-2.5-flash"] } } });
    h.anthropic.enqueue({ status: 503 });
    const res = await fetch(`${h.gateway.url}/google-ai-studio/v1beta/models/gemini-fallback:generateContent`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-goog-api-key": CALLERS.everywhere.token },
      body: JSON.stringify({ contents: [{ parts: [{ text: "hi" }] }] }),
    });
    expect(res.status).toBe(503);
    await res.arrayBuffer();
    expect(h.anthropic.requests.map((r) => r.path)).toEqual(["/v1beta/models/gemini-2.5-flash:generateContent"]);
    expect(modelRequests(h.cloud)).toHaveLength(0);
  });
});
