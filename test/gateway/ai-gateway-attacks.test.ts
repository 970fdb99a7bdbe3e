import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CLIENT_TOKEN, KEYS, devCallerId, rowWhenWritten, snapshotCost, type Harness } from "./harness.ts";
import { AIG_TOKEN, startAiGatewayHarness, type AiGatewayHarness } from "./ai-gateway-harness.ts";

/**
 * The attacker's side of the AI Gateway upstream: a client must not steer AI Gateway (spoof
 * the metadata, present a token, pick a cache key, skip the cache or logging, set a custom
 * cost) in any spelling; the gateway's token never reaches a client, a log or the served config;
 * a missing token or key refuses the request before anything is sent.
 */
const UNUSED_OPENAI_KEY = "sk-gatehouse-side-openai-key-never-sent-with-byok";
let h: AiGatewayHarness;
let asHarness: Harness;
beforeAll(async () => {
  // The org pins a cache TTL server-side; AI Gateway caches (so a client's skip-cache would show).
  // An OpenAI key is configured although OpenAI is BYOK: it must still never be sent.
  h = await startAiGatewayHarness({ cache: true, anthropicExtra: ['    pinHeaders: { cf-aig-cache-ttl: "600" }'], env: { OPENAI_API_KEY: UNUSED_OPENAI_KEY } });
  asHarness = { gateway: h.gateway, fake: h.providers, dir: h.dir, close: h.close };
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.providers.reset();
  h.aig.reset();
});

/** A request with header names exactly as given (node:http sends them as spelled). */
function rawPost(path: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const url = new URL(`${h.gateway.url}${path}`);
  const bytes = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: "POST", headers: { "Content-Type": "application/json", "Content-Length": String(bytes.byteLength), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.once("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
      res.once("error", reject);
    });
    req.once("error", reject);
    req.end(bytes);
  });
}

const messages = { model: "claude-sonnet-4-5", max_tokens: 50, messages: [{ role: "user", content: "hi" }] };

describe("client cf-aig-* headers never reach AI Gateway", () => {
  const spoofs: Array<Record<string, string>> = [
    { "cf-aig-metadata": '{"userId":"someone-else","team":"finance"}', "cf-aig-authorization": "Bearer attacker-token", "cf-aig-custom-cost": '{"total_cost":0}' },
    { "CF-AIG-METADATA": '{"userId":"someone-else"}', "CF-AIG-AUTHORIZATION": "Bearer attacker-token", "CF-AIG-CUSTOM-COST": '{"per_token_in":0,"per_token_out":0}' },
    { "Cf-Aig-Metadata": '{"userId":"someone-else"}', "Cf-Aig-Cache-Key": "attacker-key", "Cf-Aig-Skip-Cache": "true", "Cf-Aig-Collect-Log": "false", "Cf-Aig-Cache-Ttl": "1", "Cf-Aig-Event-Id": "x", "Cf-aig-Max-Attempts": "9" },
  ];
  for (const [i, spoof] of spoofs.entries()) {
    it(`spelling ${i + 1}: only Gatehouse's token and metadata arrive, and the org's pinned cache TTL, never the client's`, async () => {
      h.providers.enqueue({ usage: { input: 10 + i, output: 2 } });
      const res = await rawPost("/anthropic/v1/messages", { ...messages, max_tokens: 50 + i }, { authorization: `Bearer ${CLIENT_TOKEN}`, "anthropic-version": "2023-06-01", ...spoof });
      expect(res.status).toBe(200);
      const seen = h.aig.requests[0];
      const callerId = await devCallerId(asHarness);
      const aigHeaders = Object.fromEntries(Object.entries(seen?.headers ?? {}).filter(([name]) => name.startsWith("cf-aig-")));
      expect(aigHeaders).toEqual({ "cf-aig-authorization": `Bearer ${AIG_TOKEN}`, "cf-aig-metadata": JSON.stringify({ userId: callerId }), "cf-aig-cache-ttl": "600" });
      expect(seen?.metadata).toEqual({ userId: callerId });
    });
  }

  it("a client's cf-aig-skip-cache cannot bypass the cache: the second identical request is AI Gateway's cache hit, and it still gets a ledger row with the usage in the cached body, priced in full", async () => {
    h.providers.enqueue({ usage: { input: 222, output: 33 } });
    const body = { ...messages, max_tokens: 77 };
    const first = await rawPost("/anthropic/v1/messages", body, { authorization: `Bearer ${CLIENT_TOKEN}`, "anthropic-version": "2023-06-01" });
    expect(first.status).toBe(200);
    expect(first.headers["cf-aig-cache-status"]).toBe("MISS");
    const second = await rawPost("/anthropic/v1/messages", body, { authorization: `Bearer ${CLIENT_TOKEN}`, "anthropic-version": "2023-06-01", "CF-AIG-SKIP-CACHE": "true" });
    expect(second.status).toBe(200);
    expect(second.headers["cf-aig-cache-status"]).toBe("HIT");
    expect(h.aig.requests.map((r) => r.answeredBy)).toEqual(["provider", "cache"]);
    expect(h.providers.requests).toHaveLength(1);
    expect(second.text).toBe(first.text);

    const price = snapshotCost("anthropic", "claude-sonnet-4-5");
    const cost = (222 * price.input + 33 * price.output) / 1_000_000;
    for (const res of [first, second]) {
      const row = await rowWhenWritten(asHarness, String(res.headers["x-gatehouse-request-id"]));
      expect(row).toMatchObject({ provider: "anthropic", status: 200, outcome: "completed", input_tokens: 222, output_tokens: 33, estimated: 0 });
      expect(row.cost_usd).toBeCloseTo(cost, 12);
    }
  });
});

describe("BYOK: no provider key leaves Gatehouse", () => {
  it("whatever credential headers the client sends to an openai route with BYOK, AI Gateway receives none (the fake refuses a request that carries one)", async () => {
    h.providers.enqueue({ usage: { input: 5, output: 1 } });
    const res = await rawPost("/openai/v1/chat/completions", { model: "gpt-5", messages: [{ role: "user", content: "hi" }] }, { "X-Api-Key": "sk-client-1", "Api-Key": "sk-client-2", "X-Goog-Api-Key": "sk-client-3", "cf-access-token": CLIENT_TOKEN });
    expect(res.status).toBe(200);
    const seen = h.aig.requests[0];
    for (const name of ["authorization", "x-api-key", "api-key", "x-goog-api-key"]) expect(seen?.headers[name]).toBeUndefined();
    expect(JSON.stringify(seen?.headers)).not.toContain(KEYS.openai);
    expect(JSON.stringify(seen?.headers)).not.toContain(UNUSED_OPENAI_KEY);
    expect(seen?.forwardedHeaders?.["authorization"]).toBe(`Bearer ${KEYS.openai}`);
  });
});

describe("the gateway token stays secret", () => {
  it("is in no client response, no log line and not in the served OpenCode config", async () => {
    h.providers.enqueue({ usage: { input: 3, output: 1 } });
    const ok = await rawPost("/anthropic/v1/messages", { ...messages, max_tokens: 11 }, { authorization: `Bearer ${CLIENT_TOKEN}`, "anthropic-version": "2023-06-01" });
    h.aig.enqueueGatewayError({ status: 401, code: 2009, message: "Unauthorized" });
    const refused = await rawPost("/openai/v1/chat/completions", { model: "gpt-5", messages: [{ role: "user", content: "hi" }] }, { authorization: `Bearer ${CLIENT_TOKEN}` });
    expect(refused.status).toBe(401);
    const served = await fetch(`${h.gateway.url}/.well-known/opencode`);
    const servedText = await served.text();
    expect(served.status).toBe(200);
    for (const text of [ok.text, JSON.stringify(ok.headers), refused.text, JSON.stringify(refused.headers), servedText, h.logs.join("\n")]) expect(text).not.toContain(AIG_TOKEN);
    expect(servedText).not.toContain("CF_AIG_TOKEN");
    // The refusal was logged (without the token), saying it was AI Gateway.
    expect(h.logs.some((line) => line.includes("cloudflare ai gateway refused the request"))).toBe(true);
  });
});

describe("a missing secret refuses before anything is sent", () => {
  it("no AI Gateway token: 503 not_configured in the provider's shape naming the env var, and AI Gateway never called", async () => {
    const bare = await startAiGatewayHarness({ env: { CF_AIG_TOKEN: undefined } });
    try {
      const res = await fetch(`${bare.gateway.url}/anthropic/v1/messages`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}`, "anthropic-version": "2023-06-01" }, body: JSON.stringify(messages) });
      expect(res.status).toBe(503);
      const body = (await res.json()) as { type: string; error: { message: string } };
      expect(body.type).toBe("error");
      expect(body.error.message).toContain("set CF_AIG_TOKEN");
      const openai = await fetch(`${bare.gateway.url}/openai/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}` }, body: JSON.stringify({ model: "gpt-5", messages: [] }) });
      expect(openai.status).toBe(503);
      expect(((await openai.json()) as { error: { message: string } }).error.message).toContain("set CF_AIG_TOKEN");
      expect(bare.aig.requests).toHaveLength(0);
      expect(bare.providers.requests).toHaveLength(0);
    } finally {
      await bare.close();
    }
  });

  it("BYOK off and no provider key: refused before sending; BYOK on needs none", async () => {
    const bare = await startAiGatewayHarness({ env: { ANTHROPIC_API_KEY: undefined } });
    try {
      const res = await fetch(`${bare.gateway.url}/anthropic/v1/messages`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}`, "anthropic-version": "2023-06-01" }, body: JSON.stringify(messages) });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain("ANTHROPIC_API_KEY");
      expect(bare.aig.requests).toHaveLength(0);
      bare.providers.enqueue({ usage: { input: 1, output: 1 } });
      const openai = await fetch(`${bare.gateway.url}/openai/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}` },
        body: JSON.stringify({ model: "gpt-5", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(openai.status).toBe(200);
    } finally {
      await bare.close();
    }
  });
});
