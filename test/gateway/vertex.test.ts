import { exportPKCS8, generateKeyPair } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createServiceAccountTokens, parseServiceAccountKey, TOKEN_REFRESH_MARGIN_MS } from "../../src/providers/google-oauth.ts";
import { CLIENT_TOKEN, devCallerId, readChunks, rowWhenWritten, snapshotCost } from "./harness.ts";
import { startCloudHarness, type CloudHarness } from "./bedrock-vertex-harness.ts";

/**
 * Google Vertex AI through the gateway: Claude (rawPredict, streamRawPredict) and Gemini
 * (generateContent, streamGenerateContent), authenticated with access tokens the gateway mints
 * from a service-account key (the fake's token endpoint verifies the JWT with the key's public
 * half), the org's project and location put in the path, priced at models.dev's google-vertex.
 */
let h: CloudHarness;
beforeAll(async () => {
  h = await startCloudHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.fake.reset();
});

const CLAUDE = "claude-sonnet-4-5@20250929";
const GEMINI = "gemini-2.5-flash";
const perM = (tokens: number, price: number | undefined) => (tokens * (price ?? Number.NaN)) / 1_000_000;
const claude = snapshotCost("google-vertex", CLAUDE);
const gemini = snapshotCost("google-vertex", GEMINI);
const USAGE = { input: 1500, output: 250, cacheRead: 3000, cacheWrite5m: 700 };

const claudeBody = { anthropic_version: "vertex-2023-10-16", max_tokens: 100, messages: [{ role: "user", content: "hi" }] };
const geminiBody = { contents: [{ role: "user", parts: [{ text: "hi" }] }] };
/** What a client names: not the org's project or location (the gateway replaces both). */
const clientPrefix = "/vertex/v1/projects/some-other-project/locations/europe-west4/publishers";

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${h.gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}`, ...headers }, body: JSON.stringify(body) });
}
const requestId = (res: Response): string => res.headers.get("x-gatehouse-request-id") ?? "";

describe("vertex: Claude", () => {
  it("mints one access token from the service-account key, puts the org's project and location in the path, strips the caller's token, and meters rawPredict exactly", async () => {
    const exchangesBefore = h.fake.vertex.exchanges;
    h.fake.enqueue({ usage: USAGE });
    h.fake.enqueue({ usage: USAGE });
    const first = await post(`${clientPrefix}/anthropic/models/${CLAUDE}:rawPredict`, claudeBody, { "x-goog-user-project": "attacker-billing-project" });
    expect(first.status).toBe(200);
    const second = await post(`${clientPrefix}/anthropic/models/${CLAUDE}:rawPredict`, claudeBody);
    expect(second.status).toBe(200);
    // The token is cached: two requests, at most one exchange (none when an earlier test minted it).
    expect(h.fake.vertex.exchanges - exchangesBefore).toBeLessThanOrEqual(1);
    expect(h.fake.vertex.exchanges).toBeGreaterThanOrEqual(1);

    const seen = h.fake.requests.filter((r) => r.path !== "/token");
    expect(seen[0]?.path).toBe(`/v1/projects/${h.fake.vertex.project}/locations/us-east5/publishers/anthropic/models/${CLAUDE}:rawPredict`);
    expect(seen[0]?.headers["authorization"]).toMatch(/^Bearer ya29\./);
    expect(seen[0]?.headers["authorization"]).toBe(seen[1]?.headers["authorization"]);
    expect(seen[0]?.headers["x-goog-user-project"]).toBeUndefined();
    expect(seen[0]?.headers["x-gatehouse-user-id"]).toBe(await devCallerId(h));
    expect(JSON.stringify(h.fake.requests)).not.toContain(CLIENT_TOKEN);

    const row = await rowWhenWritten(h, requestId(first));
    expect(row).toMatchObject({ provider: "vertex", model: CLAUDE, endpoint: "messages", status: 200, streamed: 0, input_tokens: 1500, output_tokens: 250, cache_read_tokens: 3000, cache_write_5m_tokens: 700, estimated: 0, unpriced: 0 });
    expect(row.cost_usd).toBeCloseTo(perM(1500, claude.input) + perM(250, claude.output) + perM(3000, claude.cache_read) + perM(700, claude.cache_write), 12);
  });

  it("meters streamRawPredict's SSE exactly", async () => {
    h.fake.enqueue({ usage: USAGE, chunks: 3 });
    const res = await post(`${clientPrefix}/anthropic/models/${CLAUDE}:streamRawPredict`, { ...claudeBody, stream: true });
    expect(res.status).toBe(200);
    const { text } = await readChunks(res);
    expect(text).toContain("event: message_stop");
    const row = await rowWhenWritten(h, requestId(res));
    expect(row).toMatchObject({ endpoint: "messages_stream", streamed: 1, input_tokens: 1500, output_tokens: 250, cache_read_tokens: 3000, cache_write_5m_tokens: 700, estimated: 0 });
    expect(row.cost_usd).toBeCloseTo(perM(1500, claude.input) + perM(250, claude.output) + perM(3000, claude.cache_read) + perM(700, claude.cache_write), 12);
  });

  it("answers a stream the upstream cut with Anthropic's error event, and counts it as the worst case (estimated)", async () => {
    h.fake.enqueue({ usage: USAGE, chunks: 6, failAfterEvents: 4 });
    const res = await post(`${clientPrefix}/anthropic/models/${CLAUDE}:streamRawPredict`, claudeBody);
    const { text } = await readChunks(res);
    expect(text).toContain("event: error");
    const row = await rowWhenWritten(h, requestId(res));
    expect(row).toMatchObject({ outcome: "upstream_failed", estimated: 1, input_tokens: 1500, cache_read_tokens: 3000 });
    expect(row.output_tokens).toBeGreaterThan(0);
  });
});

describe("vertex: Gemini", () => {
  it("meters generateContent exactly (cached tokens taken out of promptTokenCount)", async () => {
    h.fake.enqueue({ usage: { input: 900, output: 120, cacheRead: 400 } });
    const res = await post(`${clientPrefix}/google/models/${GEMINI}:generateContent`, geminiBody);
    expect(res.status).toBe(200);
    const row = await rowWhenWritten(h, requestId(res));
    expect(row).toMatchObject({ provider: "vertex", model: GEMINI, endpoint: "generate", input_tokens: 900, output_tokens: 120, cache_read_tokens: 400, estimated: 0 });
    expect(row.cost_usd).toBeCloseTo(perM(900, gemini.input) + perM(120, gemini.output) + perM(400, gemini.cache_read), 12);
    expect(h.fake.requests.find((r) => r.path.endsWith(":generateContent"))?.path).toBe(`/v1/projects/${h.fake.vertex.project}/locations/us-east5/publishers/google/models/${GEMINI}:generateContent`);
  });

  it("meters streamGenerateContent?alt=sse exactly", async () => {
    h.fake.enqueue({ usage: { input: 900, output: 120, reasoning: 20 }, chunks: 3 });
    const res = await post(`${clientPrefix}/google/models/${GEMINI}:streamGenerateContent?alt=sse`, geminiBody);
    expect(res.status).toBe(200);
    await readChunks(res);
    const row = await rowWhenWritten(h, requestId(res));
    expect(row).toMatchObject({ endpoint: "stream_generate", streamed: 1, input_tokens: 900, output_tokens: 120, reasoning_tokens: 20, estimated: 0 });
    expect(row.cost_usd).toBeCloseTo(perM(900, gemini.input) + perM(120, gemini.output), 12);
  });
});

describe("vertex: refused", () => {
  it("refuses undeclared paths, other publishers, other methods and unknown queries in Google's error shape, forwarding nothing", async () => {
    const cases: Array<[string, string, number]> = [
      ["POST", `${clientPrefix}/anthropic/models/${CLAUDE}:predict`, 404],
      ["POST", `${clientPrefix}/meta/models/llama-4:rawPredict`, 404],
      ["POST", `${clientPrefix}/google/models/${GEMINI}:generateContent?alt=proto`, 400],
      ["POST", `${clientPrefix}/google/models/${GEMINI}:generateContent?fields=candidates`, 400],
      ["POST", "/vertex/v1/projects/p/locations/l/endpoints/123:predict", 404],
      ["POST", `/vertex/v2/projects/p/locations/l/publishers/anthropic/models/${CLAUDE}:rawPredict`, 404],
      ["GET", `${clientPrefix}/anthropic/models/${CLAUDE}:rawPredict`, 405],
      ["DELETE", `${clientPrefix}/google/models/${GEMINI}:generateContent`, 405],
    ];
    for (const [method, path, status] of cases) {
      const res = await fetch(`${h.gateway.url}${path}`, { method, headers: { authorization: `Bearer ${CLIENT_TOKEN}`, "content-type": "application/json" }, ...(method === "GET" ? {} : { body: JSON.stringify(geminiBody) }) });
      const body = (await res.json()) as { error?: { code: number; status: string; message: string } };
      expect(res.status, `${method} ${path}`).toBe(status);
      expect(body.error?.code).toBe(status);
      expect(typeof body.error?.status).toBe("string");
    }
    expect(h.fake.requests.filter((r) => r.path !== "/token")).toHaveLength(0);
  });

  it("a key the token endpoint does not know (another RSA key, same account) is refused there: Google's error, nothing reaches the model, no key in the answer or the logs", async () => {
    const { privateKey } = await generateKeyPair("RS256", { extractable: true });
    const forgedPem = await exportPKCS8(privateKey);
    const wrong = await startCloudHarness({ vertexKey: (key) => ({ ...key, private_key: forgedPem }) });
    try {
      const res = await fetch(`${wrong.gateway.url}${clientPrefix}/anthropic/models/${CLAUDE}:rawPredict`, { method: "POST", headers: { authorization: `Bearer ${CLIENT_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(claudeBody) });
      const text = await res.text();
      expect(res.status).toBe(502);
      expect(JSON.parse(text)).toMatchObject({ error: { code: 502, status: "UNAVAILABLE" } });
      expect(text).toMatch(/HTTP 400 \(invalid_grant\)/);
      expect(wrong.fake.vertex.exchanges).toBe(0);
      expect(wrong.fake.requests.map((r) => r.path)).toEqual(["/token"]);
      const row = await rowWhenWritten(wrong, res.headers.get("x-gatehouse-request-id") ?? "");
      expect(row).toMatchObject({ outcome: "not_forwarded", cost_usd: 0 });
      const everything = [text, ...wrong.logs].join("\n");
      for (const secret of [forgedPem.split("\n")[1] ?? "x", String(wrong.fake.vertex.serviceAccountKey["private_key"]).split("\n")[1] ?? "x", "eyJ"]) expect(everything).not.toContain(secret);
    } finally {
      await wrong.close();
    }
  });

  it("a secret that is not a key file is refused without being quoted", async () => {
    const g = await startCloudHarness({ env: { GOOGLE_SERVICE_ACCOUNT_KEY: "not-json-secret-value-123" } });
    try {
      const res = await fetch(`${g.gateway.url}${clientPrefix}/anthropic/models/${CLAUDE}:rawPredict`, { method: "POST", headers: { authorization: `Bearer ${CLIENT_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(claudeBody) });
      const text = await res.text();
      expect(res.status).toBe(503);
      expect(text).toMatch(/GOOGLE_SERVICE_ACCOUNT_KEY is not JSON/);
      expect([text, ...g.logs].join("\n")).not.toContain("not-json-secret-value-123");
      expect(g.fake.requests).toHaveLength(0);
    } finally {
      await g.close();
    }
  });

  it("never puts the service account's private key or an access token in a response or a log line", async () => {
    h.fake.enqueue({ status: 500 });
    const failed = await post(`${clientPrefix}/anthropic/models/${CLAUDE}:rawPredict`, claudeBody);
    const failedText = await failed.text();
    h.fake.enqueue({ usage: USAGE });
    const ok = await post(`${clientPrefix}/anthropic/models/${CLAUDE}:rawPredict`, claudeBody);
    const okText = await ok.text();
    await rowWhenWritten(h, requestId(ok));
    const token = /^Bearer (.+)$/.exec(h.fake.requests.find((r) => r.path.includes(":rawPredict"))?.headers["authorization"] ?? "")?.[1];
    expect(token).toMatch(/^ya29\./);
    const everything = [failedText, okText, JSON.stringify([...failed.headers, ...ok.headers]), ...h.logs].join("\n");
    for (const secret of [token ?? "x", String(h.fake.vertex.serviceAccountKey["private_key"]).split("\n")[1] ?? "x"]) expect(everything).not.toContain(secret);
  });
});

describe("service-account tokens", () => {
  it("are cached until TOKEN_REFRESH_MARGIN_MS before they expire, then minted again", async () => {
    let now = Date.now();
    const key = parseServiceAccountKey(JSON.stringify(h.fake.vertex.serviceAccountKey), "test key");
    const tokens = createServiceAccountTokens({ key: () => Promise.resolve(key), now: () => now });
    const before = h.fake.vertex.exchanges;
    const first = await tokens.token();
    expect(await tokens.token()).toBe(first);
    expect(h.fake.vertex.exchanges - before).toBe(1);
    now += 3599_000 - TOKEN_REFRESH_MARGIN_MS - 1000;
    expect(await tokens.token()).toBe(first);
    now += 2000;
    const second = await tokens.token();
    expect(second).not.toBe(first);
    expect(h.fake.vertex.exchanges - before).toBe(2);
  });
});
