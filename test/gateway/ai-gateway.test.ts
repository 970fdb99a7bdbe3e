import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CLIENT_TOKEN, KEYS, devCallerId, readChunks, rowWhenWritten, snapshotCost, type Harness } from "./harness.ts";
import { AIG_TOKEN, startAiGatewayHarness, type AiGatewayHarness } from "./ai-gateway-harness.ts";

/**
 * Cloudflare AI Gateway as the upstream (docs/providers/cloudflare-ai-gateway.md): each route
 * goes to {baseUrl}/{account}/{gateway}/{slug}/… with the gateway's token in
 * cf-aig-authorization and the caller's anonymous id in cf-aig-metadata; with BYOK no provider
 * key leaves Gatehouse. The fake AI Gateway checks all of it and answers with the fake
 * providers' wire formats, so the ledger rows are exact from the bodies.
 */
let h: AiGatewayHarness;
let asHarness: Harness;
beforeAll(async () => {
  h = await startAiGatewayHarness();
  asHarness = { gateway: h.gateway, fake: h.providers, dir: h.dir, close: h.close };
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.providers.reset();
  h.aig.reset();
});

const perM = (tokens: number, price: number) => (tokens * price) / 1_000_000;

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${h.gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}`, ...headers }, body: JSON.stringify(body) });
}

describe("routes via Cloudflare AI Gateway", () => {
  it("anthropic (BYOK off): /anthropic/v1/messages, the token in cf-aig-authorization, the anonymous id in cf-aig-metadata, Gatehouse's Anthropic key injected; the ledger row exact", async () => {
    h.providers.enqueue({ usage: { input: 321, output: 45 } });
    const res = await post("/anthropic/v1/messages", { model: "claude-sonnet-4-5", max_tokens: 100, messages: [{ role: "user", content: "hi" }] }, { "anthropic-version": "2023-06-01" });
    expect(res.status).toBe(200);
    expect(res.headers.get("cf-aig-log-id")).toMatch(/^[0-9a-f-]{36}$/);
    const seen = h.aig.requests[0];
    expect(seen).toMatchObject({ slug: "anthropic", path: "/v1/messages", answeredBy: "provider" });
    expect(seen?.headers["cf-aig-authorization"]).toBe(`Bearer ${AIG_TOKEN}`);
    const callerId = await devCallerId(asHarness);
    expect(callerId).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen?.headers["cf-aig-metadata"]).toBe(JSON.stringify({ userId: callerId }));
    expect(seen?.metadata).toEqual({ userId: callerId });
    expect(JSON.stringify(seen)).not.toContain("dev@localhost");
    expect(seen?.forwardedHeaders?.["x-api-key"]).toBe(KEYS.anthropic);
    // The provider sees no AI Gateway header and no client credential.
    expect(Object.keys(h.providers.requests[0]?.headers ?? {}).filter((n) => n.startsWith("cf-aig-"))).toEqual([]);
    expect(JSON.stringify(h.providers.requests[0])).not.toContain(CLIENT_TOKEN);

    const row = await rowWhenWritten(asHarness, res.headers.get("x-gatehouse-request-id") ?? "");
    const price = snapshotCost("anthropic", "claude-sonnet-4-5");
    expect(row).toMatchObject({ provider: "anthropic", model: "claude-sonnet-4-5", endpoint: "messages", status: 200, outcome: "completed", input_tokens: 321, output_tokens: 45, estimated: 0, caller_id: callerId });
    expect(row.cost_usd).toBeCloseTo(perM(321, price.input) + perM(45, price.output), 12);
  });

  it("openai (BYOK on): /openai/chat/completions without the /v1 AI Gateway's openai slug stands for, no provider key sent (the gateway has none), the stored key added by AI Gateway; a stream metered exactly", async () => {
    h.providers.enqueue({ usage: { input: 500, output: 60 }, chunks: 3 });
    const res = await post("/openai/v1/chat/completions", { model: "gpt-5", stream: true, messages: [{ role: "user", content: "hi" }] });
    expect(res.status).toBe(200);
    const { text } = await readChunks(res);
    expect(text).toContain("data: [DONE]");
    const seen = h.aig.requests[0];
    expect(seen).toMatchObject({ slug: "openai", path: "/chat/completions", answeredBy: "provider" });
    for (const name of ["authorization", "x-api-key", "x-goog-api-key", "api-key"]) expect(seen?.headers[name]).toBeUndefined();
    expect(seen?.forwardedHeaders?.["authorization"]).toBe(`Bearer ${KEYS.openai}`);
    expect(h.providers.requests[0]?.path).toBe("/v1/chat/completions");
    const callerId = await devCallerId(asHarness);
    expect(seen?.metadata).toEqual({ userId: callerId });

    const row = await rowWhenWritten(asHarness, res.headers.get("x-gatehouse-request-id") ?? "");
    const price = snapshotCost("openai", "gpt-5");
    expect(row).toMatchObject({ provider: "openai", model: "gpt-5", endpoint: "chat", streamed: 1, status: 200, outcome: "completed", input_tokens: 500, output_tokens: 60, estimated: 0 });
    expect(row.cost_usd).toBeCloseTo(perM(500, price.input) + perM(60, price.output), 12);
  });

  it("google-ai-studio (BYOK off): google-ai-studio/v1beta/models/…:generateContent with the Gemini key in x-goog-api-key", async () => {
    h.providers.enqueue({ usage: { input: 70, output: 9 } });
    const res = await post("/google-ai-studio/v1beta/models/gemini-2.5-flash:generateContent", { contents: [{ parts: [{ text: "hi" }] }] });
    expect(res.status).toBe(200);
    const seen = h.aig.requests[0];
    expect(seen).toMatchObject({ slug: "google-ai-studio", path: "/v1beta/models/gemini-2.5-flash:generateContent" });
    expect(seen?.forwardedHeaders?.["x-goog-api-key"]).toBe(KEYS.google);
    const row = await rowWhenWritten(asHarness, res.headers.get("x-gatehouse-request-id") ?? "");
    const price = snapshotCost("google", "gemini-2.5-flash");
    expect(row).toMatchObject({ provider: "google-ai-studio", model: "gemini-2.5-flash", status: 200, input_tokens: 70, output_tokens: 9, estimated: 0 });
    expect(row.cost_usd).toBeCloseTo(perM(70, price.input) + perM(9, price.output), 12);
  });

  it("groq (BYOK on) and compat as Workers AI (workers-ai/v1/…, /v1 added when the client left it out)", async () => {
    h.providers.enqueue({ usage: { input: 40, output: 4 } });
    const groq = await post("/groq/chat/completions", { model: "llama-3.3-70b-versatile", messages: [{ role: "user", content: "hi" }] });
    expect(groq.status).toBe(200);
    expect(h.aig.requests[0]).toMatchObject({ slug: "groq", path: "/chat/completions" });
    expect(h.aig.requests[0]?.headers["authorization"]).toBeUndefined();
    h.providers.enqueue({ usage: { input: 30, output: 3 } });
    const compat = await post("/compat/chat/completions", { model: "@cf/meta/llama-3.1-8b-instruct", messages: [{ role: "user", content: "hi" }] });
    expect(compat.status).toBe(200);
    expect(h.aig.requests[1]).toMatchObject({ slug: "workers-ai", path: "/v1/chat/completions" });
    expect(h.aig.requests[1]?.forwardedHeaders?.["authorization"]).toBe(`Bearer ${KEYS.openai}`);
    const row = await rowWhenWritten(asHarness, compat.headers.get("x-gatehouse-request-id") ?? "");
    expect(row).toMatchObject({ provider: "compat", input_tokens: 30, output_tokens: 3 });
  });
});

describe("AI Gateway's own answers", () => {
  it("a bad gateway token: AI Gateway's 401 envelope reaches the client in Anthropic's error shape, saying it is the gateway's token, not the caller's; the row records the status, no usage", async () => {
    h.aig.enqueueGatewayError({ status: 401, code: 2009, message: "Unauthorized" });
    const res = await post("/anthropic/v1/messages", { model: "claude-sonnet-4-5", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }, { "anthropic-version": "2023-06-01" });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe("error");
    expect(body.error.message).toContain("Cloudflare AI Gateway answered 401 (code 2009)");
    expect(body.error.message).toContain("not your credentials");
    expect(JSON.stringify(body)).not.toContain("success");
    expect(JSON.stringify(body)).not.toContain(AIG_TOKEN);
    expect(h.providers.requests).toHaveLength(0);
    const row = await rowWhenWritten(asHarness, res.headers.get("x-gatehouse-request-id") ?? "");
    // As for any upstream error answer: its status, no usage, nothing priced (the provider was never reached).
    expect(row).toMatchObject({ status: 401, input_tokens: 0, output_tokens: 0, cost_usd: 0, estimated: 0 });
  });

  it("AI Gateway's rate limit (429) reaches an OpenAI client in OpenAI's error shape", async () => {
    h.aig.enqueueGatewayError({ status: 429, code: 2003, message: "Rate limited" });
    const res = await post("/openai/v1/chat/completions", { model: "gpt-5", messages: [{ role: "user", content: "hi" }] });
    expect(res.status).toBe(429);
    const body = (await res.json()) as { error: { message: string; type: string } };
    expect(body.error.message).toContain("AI Gateway's own rate limit");
    expect(body.error.type).toBeDefined();
  });

  it("the provider's own error (a 429 from Anthropic through AI Gateway) passes unchanged", async () => {
    h.providers.enqueue({ status: 429, error: { type: "rate_limit_error", message: "Number of request tokens has exceeded your per-minute rate limit" } });
    const res = await post("/anthropic/v1/messages", { model: "claude-sonnet-4-5", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }, { "anthropic-version": "2023-06-01" });
    expect(res.status).toBe(429);
    const body = (await res.json()) as { error: { type: string; message: string } };
    expect(body.error).toEqual({ type: "rate_limit_error", message: "Number of request tokens has exceeded your per-minute rate limit" });
  });
});
