import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Authenticator, HeaderReader } from "../../src/core/auth.ts";
import { extractClientToken } from "../../src/core/auth.ts";
import type { Caller } from "../../src/core/caller.ts";
import { GatewayError } from "../../src/core/errors.ts";
import { orgConfigSchema } from "../../src/config/index.ts";
import { ledgerRows, startHarness, type Harness } from "../gateway/harness.ts";

/** Tokens to callers, so one gateway serves several people in several groups. */
const PEOPLE: Record<string, Caller> = {
  "tok-alice-000000000000": { id: "a11ce000-0000-4000-8000-000000000001", email: undefined, groups: ["eng"], team: "eng", tokenId: undefined },
  "tok-admin-000000000000": { id: "ad000000-0000-4000-8000-000000000002", email: undefined, groups: ["admin"], team: "platform", tokenId: undefined },
};
const tokenAuthenticator: Authenticator = {
  async authenticate(headers: HeaderReader) {
    const caller = PEOPLE[extractClientToken(headers) ?? ""];
    if (!caller) throw new GatewayError("unauthenticated", "Invalid gateway token.");
    return caller;
  },
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ authenticator: tokenAuthenticator });
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => h.fake.reset());

/** Applies a policy the way a config reload does: no restart. */
function setPolicy(policy: unknown, extra: Record<string, unknown> = {}) {
  const current = h.gateway.deps.config.current();
  h.gateway.deps.config.replace(orgConfigSchema.parse({ providers: current.providers, pricing: { ...current.pricing, "openai/budget-model": { input: 1, output: 1 } }, policy, ...extra }));
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${h.gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer tok-alice-000000000000", ...headers }, body: JSON.stringify(body) });

describe("governance on the real proxy path", () => {
  it("200 parallel requests against a budget worth 50: exactly 50 reach the provider, 150 get OpenAI-shaped 429s", async () => {
    const body = { model: "budget-model", messages: [{ role: "user", content: "x".repeat(900) }], max_tokens: 1000 };
    const bytes = new TextEncoder().encode(JSON.stringify(body)).byteLength;
    const perRequest = (bytes + 1000) / 1e6; // $1/M tokens; the fake reports exactly the estimated tokens
    setPolicy({ groups: { eng: { models: ["openai/*"], budget: { perUser: { dailyUsd: 50 * perRequest * 1.0000001 } } } } });
    h.fake.setDefault({ usage: { input: bytes, output: 1000 }, headersDelayMs: 20 });

    const responses = await Promise.all(Array.from({ length: 200 }, () => post("/openai/v1/chat/completions", body)));
    const ok = responses.filter((r) => r.status === 200);
    const denied = responses.filter((r) => r.status === 429);
    expect(ok).toHaveLength(50);
    expect(denied).toHaveLength(150);
    const sample = denied[0];
    expect(Number(sample?.headers.get("retry-after"))).toBeGreaterThan(0);
    const err = (await sample?.json()) as { error: { type: string; code: string; message: string } };
    expect(err.error).toMatchObject({ type: "insufficient_quota", code: "budget_exceeded" });
    expect(err.error.message).toContain("your daily budget");
    await Promise.all(responses.filter((r) => r !== sample).map((r) => r.arrayBuffer()));
    expect(h.fake.requests).toHaveLength(50);

    const rows = (await ledgerRows(h)).filter((r) => r.model === "budget-model");
    const spent = rows.reduce((s, r) => s + r.cost_usd, 0);
    expect(rows.filter((r) => r.outcome === "completed")).toHaveLength(50);
    expect(rows.filter((r) => r.outcome === "not_forwarded" && r.error_code === "budget_exceeded")).toHaveLength(150);
    expect(spent).toBeLessThanOrEqual(50 * perRequest * 1.0000001);
    expect(spent).toBeCloseTo(50 * perRequest, 9);

    const metrics = await fetch(`${h.gateway.url}/metrics`, { headers: { authorization: "Bearer tok-admin-000000000000" } });
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toContain('gatehouse_denials_total{provider="openai",reason="budget_exceeded"} 150');
    expect(text).toMatch(/gatehouse_requests_total\{provider="openai",model="budget-model",outcome="completed",status="2xx"\} 50/);
    const asUser = await fetch(`${h.gateway.url}/metrics`, { headers: { authorization: "Bearer tok-alice-000000000000" } });
    expect(asUser.status).toBe(403);
  });

  it("rate limits answer in Anthropic's error format with retry-after", async () => {
    setPolicy({ groups: { eng: { models: ["anthropic/*"], rateLimit: { perUser: { requestsPerMinute: 2 } } } } });
    const msg = { model: "claude-sonnet-4-5", max_tokens: 10, messages: [{ role: "user", content: "hi" }] };
    const headers = { "anthropic-version": "2023-06-01" };
    expect((await post("/anthropic/v1/messages", msg, headers)).status).toBe(200);
    expect((await post("/anthropic/v1/messages", msg, headers)).status).toBe(200);
    const third = await post("/anthropic/v1/messages", msg, headers);
    expect(third.status).toBe(429);
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await third.json()).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    expect(h.fake.requests).toHaveLength(2);
  });

  it("zero data retention: store:false reaches OpenAI, retaining endpoints are refused", async () => {
    setPolicy({ groups: { eng: { models: ["openai/*"] } } }, {});
    const current = h.gateway.deps.config.current();
    h.gateway.deps.config.replace(orgConfigSchema.parse({ ...current, providers: { ...current.providers, openai: { ...current.providers.openai, zeroDataRetention: true } } }));
    const res = await post("/openai/v1/responses", { model: "gpt-5", input: "hi" });
    expect(res.status).toBe(200);
    expect(JSON.parse(h.fake.requests[0]?.bodyText ?? "{}")).toMatchObject({ store: false });
    const refused = await post("/openai/v1/responses", { model: "gpt-5", input: "hi", store: true });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { type: "permission_error", code: "forbidden" } });
    const files = await post("/openai/v1/batches", { input_file_id: "f", endpoint: "/v1/chat/completions", completion_window: "24h" });
    expect(files.status).toBe(403);
    expect(h.fake.requests).toHaveLength(1);
  });

  it("routes an alias past an overloaded model and records the model that answered", async () => {
    setPolicy({ groups: { eng: { models: ["anthropic/*"] } }, routing: { aliases: { default: ["anthropic/claude-opus-4-1", "anthropic/claude-sonnet-4-5"] } } });
    h.fake.enqueue({ status: 529 });
    h.fake.enqueue({ usage: { input: 10, output: 5 } });
    const res = await post("/anthropic/v1/messages", { model: "default", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }, { "anthropic-version": "2023-06-01" });
    expect(res.status).toBe(200);
    expect(h.fake.requests.map((r) => (JSON.parse(r.bodyText) as { model: string }).model)).toEqual(["claude-opus-4-1", "claude-sonnet-4-5"]);
    const row = (await ledgerRows(h)).at(-1);
    expect(row).toMatchObject({ model: "claude-sonnet-4-5", requested_model: "default", attempts: 2, outcome: "completed" });
  });
});
