import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseSettings } from "../../src/core/settings.ts";
import { orgConfigSchema } from "../../src/config/index.ts";
import { startGateway, type RunningGateway } from "../../src/adapters/node/server.ts";
import { startFakeUpstream } from "../fake-upstream/index.ts";
import type { FakeUpstream } from "../fake-upstream/types.ts";
import { startFakeAiGateway, type FakeAiGateway } from "../fake-upstream/ai-gateway.ts";
import { CLIENT_TOKEN, devCallerId, readChunks, rowWhenWritten, snapshotCost, type Harness } from "./harness.ts";
import { ACCOUNT_ID, AIG_TOKEN, GATEWAY_ID } from "./ai-gateway-harness.ts";

/**
 * Azure OpenAI via Cloudflare AI Gateway (developers.cloudflare.com/ai-gateway/providers/azureopenai/):
 * Gatehouse's `/azure-openai/openai/deployments/{d}/{rest}` goes to
 * `{gateway}/azure-openai/{resource}/{d}/{rest}?api-version=…` with the org's key in `api-key`,
 * the gateway token in cf-aig-authorization and the caller's anonymous id in cf-aig-metadata.
 * The fake AI Gateway checks the resource and forwards to the wire-exact Azure fake.
 */
const RESOURCE = "contoso-openai";

let gateway: RunningGateway;
let providers: FakeUpstream;
let aig: FakeAiGateway;
let asHarness: Harness;

beforeAll(async () => {
  providers = await startFakeUpstream();
  aig = await startFakeAiGateway({ providersUrl: providers.url, accountId: ACCOUNT_ID, gatewayId: GATEWAY_ID, token: AIG_TOKEN, azureResource: RESOURCE });
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-aig-azure-"));
  writeFileSync(
    join(dir, "gatehouse.yaml"),
    [
      "providers:",
      "  azure-openai:",
      `    resource: ${RESOURCE}`,
      `    via: { cloudflareAiGateway: { accountId: "${ACCOUNT_ID}", gatewayId: ${GATEWAY_ID}, tokenEnv: CF_AIG_TOKEN, baseUrl: "${aig.baseUrl}" } }`,
      "    deployments:",
      "      chat-prod: gpt-4o-mini",
      "      reasoner: gpt-5-mini",
      // Pass-through endpoints are unread: only the path mode's own check stands between their segments and AI Gateway's URL.
      "    passThrough:",
      '      - { method: POST, path: "/openai/deployments/{id}/audio/transcriptions" }',
      '      - { method: POST, path: "/openai/v1/audio/transcriptions" }',
      "",
    ].join("\n"),
  );
  const env = { AZURE_OPENAI_API_KEY: providers.keys.azure, CF_AIG_TOKEN: AIG_TOKEN, GATEHOUSE_DEV_TOKEN: CLIENT_TOKEN };
  const settings = parseSettings(env, { configDir: dir, dataDir: join(dir, "data"), port: 0 });
  gateway = await startGateway({ settings, env, offline: true });
  asHarness = { gateway, fake: providers, dir, close: async () => undefined };
});
afterAll(async () => {
  await gateway.close();
  await aig.close();
  await providers.close();
});
beforeEach(() => {
  providers.reset();
  aig.reset();
});

const perM = (tokens: number, usdPerM: number): number => (tokens * usdPerM) / 1_000_000;
const chatBody = (extra: Record<string, unknown> = {}) => JSON.stringify({ messages: [{ role: "user", content: "hi" }], ...extra });

/** A client of the Azure route: its gateway token in api-key (as AzureOpenAI clients send it), plus whatever it tries to slip through. */
function post(path: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gateway.url}/azure-openai${path}`, { method: "POST", headers: { "api-key": CLIENT_TOKEN, "content-type": "application/json", ...headers }, body });
}

describe("azure-openai via Cloudflare AI Gateway", () => {
  it("a chat completion: azure-openai/{resource}/{deployment}/chat/completions, api-version passed, the org key in api-key, the gateway's headers; the ledger row exact at azure prices", async () => {
    providers.enqueue({ text: "Hello via AI Gateway.", usage: { input: 900, cacheRead: 100, output: 50 } });
    const res = await post("/openai/deployments/chat-prod/chat/completions?api-version=2024-10-21", chatBody(), {
      // A client's own AI Gateway headers: every one is stripped, none reaches the gateway.
      "cf-aig-metadata": JSON.stringify({ userId: "someone-else" }),
      "cf-aig-authorization": "Bearer client-picked-token",
      "cf-aig-skip-cache": "true",
      "CF-AIG-Cache-Key": "attacker",
    });
    const json = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(json)).toBe(200);
    expect(JSON.stringify(json)).toContain("Hello via AI Gateway.");
    expect(json["prompt_filter_results"]).toBeDefined();

    expect(aig.requests).toHaveLength(1);
    const seen = aig.requests[0];
    expect(seen).toMatchObject({ slug: "azure-openai", path: `/${RESOURCE}/chat-prod/chat/completions`, answeredBy: "provider" });
    expect(seen?.headers["cf-aig-authorization"]).toBe(`Bearer ${AIG_TOKEN}`);
    const callerId = await devCallerId(asHarness);
    expect(seen?.headers["cf-aig-metadata"]).toBe(JSON.stringify({ userId: callerId }));
    expect(seen?.metadata).toEqual({ userId: callerId });
    expect(
      Object.keys(seen?.headers ?? {})
        .filter((n) => n.startsWith("cf-aig-"))
        .sort(),
    ).toEqual(["cf-aig-authorization", "cf-aig-metadata"]);
    // The org's Azure key, never the client's token, in api-key; no other credential.
    expect(seen?.headers["api-key"]).toBe(providers.keys.azure);
    expect(seen?.headers["authorization"]).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain(CLIENT_TOKEN);
    expect(JSON.stringify(seen)).not.toContain("dev@localhost");

    const arrived = providers.requests[0];
    expect(arrived?.rawPath).toBe("/openai/deployments/chat-prod/chat/completions");
    expect(arrived?.search).toBe("?api-version=2024-10-21");
    expect(arrived?.headers["api-key"]).toBe(providers.keys.azure);

    const row = await rowWhenWritten(asHarness, res.headers.get("x-gatehouse-request-id") ?? "");
    const price = snapshotCost("azure", "gpt-4o-mini");
    expect({ provider: row.provider, model: row.model, requested: row.requested_model, endpoint: row.endpoint, status: row.status, outcome: row.outcome, estimated: row.estimated, unpriced: row.unpriced, caller: row.caller_id }).toEqual({
      provider: "azure-openai",
      model: "gpt-4o-mini",
      requested: "chat-prod",
      endpoint: "chat",
      status: 200,
      outcome: "completed",
      estimated: 0,
      unpriced: 0,
      caller: callerId,
    });
    expect([row.input_tokens, row.cache_read_tokens, row.output_tokens]).toEqual([900, 100, 50]);
    expect(row.cost_usd).toBeCloseTo(perM(900, price.input) + perM(100, price.cache_read ?? 0) + perM(50, price.output), 12);
  });

  it("AI Gateway's own refusal (its 401 envelope) reaches the client in Azure's error shape, saying it is the gateway's token, never the token itself", async () => {
    aig.enqueueGatewayError({ status: 401, code: 2009, message: "Unauthorized" });
    const res = await post("/openai/deployments/chat-prod/chat/completions?api-version=2024-10-21", chatBody());
    const text = await res.text();
    expect(res.status).toBe(401);
    const json = JSON.parse(text) as { error?: { code?: string; message?: string }; success?: unknown };
    expect(json.success).toBeUndefined();
    expect(json.error?.code).toEqual(expect.any(String));
    expect(json.error?.message).toMatch(/Cloudflare AI Gateway answered 401 \(code 2009\).*this Gatehouse gateway's AI Gateway token, not your credentials/);
    expect(text).not.toContain(AIG_TOKEN);
    expect(text).not.toContain(providers.keys.azure);
    expect(providers.requests).toEqual([]);
  });

  it("a stream: usage injected and metered exactly, the preview api-version passed through", async () => {
    providers.enqueue({ text: "one two three", chunks: 3, usage: { input: 700, cacheRead: 300, output: 120, reasoning: 80 } });
    const res = await post("/openai/deployments/reasoner/chat/completions?api-version=2025-04-01-preview", chatBody({ stream: true }));
    expect(res.status).toBe(200);
    const { text } = await readChunks(res);
    expect(text).toContain("data: [DONE]");
    expect(aig.requests[0]).toMatchObject({ slug: "azure-openai", path: `/${RESOURCE}/reasoner/chat/completions`, answeredBy: "provider" });
    expect(aig.requests[0]?.metadata).toEqual({ userId: await devCallerId(asHarness) });
    expect(providers.requests[0]?.search).toBe("?api-version=2025-04-01-preview");
    expect(JSON.parse(providers.requests[0]?.bodyText ?? "{}")).toMatchObject({ stream: true, stream_options: { include_usage: true } });

    const row = await rowWhenWritten(asHarness, res.headers.get("x-gatehouse-request-id") ?? "");
    const price = snapshotCost("azure", "gpt-5-mini");
    expect({ model: row.model, requested: row.requested_model, streamed: row.streamed, estimated: row.estimated, outcome: row.outcome }).toEqual({ model: "gpt-5-mini", requested: "reasoner", streamed: 1, estimated: 0, outcome: "completed" });
    expect([row.input_tokens, row.cache_read_tokens, row.output_tokens, row.reasoning_tokens]).toEqual([700, 300, 120, 80]);
    expect(row.cost_usd).toBeCloseTo(perM(700, price.input) + perM(300, price.cache_read ?? 0) + perM(120, price.output), 12);
  });

  it("refuses the v1 API (Cloudflare documents only the deployments path) in Azure's error shape, saying to call the deployments API; nothing is sent", async () => {
    for (const [path, body] of [
      ["/openai/v1/chat/completions", chatBody({ model: "chat-prod" })],
      ["/openai/v1/chat/completions?api-version=preview", chatBody({ model: "chat-prod", stream: true })],
      ["/openai/v1/responses", JSON.stringify({ model: "chat-prod", input: "hi" })],
      ["/openai/v1/embeddings", JSON.stringify({ model: "chat-prod", input: "hi" })],
    ] as const) {
      const res = await post(path, body);
      const json = (await res.json()) as { error?: { code?: string; message?: string } };
      expect(res.status, `${path}: ${JSON.stringify(json)}`).toBe(400);
      expect(json.error?.code).toBe("BadRequest");
      expect(json.error?.message).toMatch(/Cloudflare AI Gateway.*not the v1 API.*\/azure-openai\/openai\/deployments\/<deployment>\/chat\/completions\?api-version=/);
    }
    expect(aig.requests).toEqual([]);
    expect(providers.requests).toEqual([]);
  });

  it("attacker: a deployment spelled with %2F, dot segments or their encodings never reaches another resource's path; nothing is sent", async () => {
    const paths = [
      "/openai/deployments/chat-prod%2F..%2F..%2Fother-resource%2Fchat-prod/chat/completions?api-version=2024-10-21",
      "/openai/deployments/..%2Fother-resource%2Fchat-prod/chat/completions?api-version=2024-10-21",
      "/openai/deployments/%2E%2E/other-resource/chat-prod/chat/completions?api-version=2024-10-21",
      "/openai/deployments/chat-prod/..%2F..%2Fother-resource/chat/completions?api-version=2024-10-21",
      "/openai/deployments/chat-prod%5C..%5Cother/chat/completions?api-version=2024-10-21",
      "/openai/deployments/chat-prod/../../../other-resource/chat-prod/chat/completions?api-version=2024-10-21",
    ];
    for (const path of paths) {
      const res = await post(path, chatBody());
      const text = await res.text();
      expect(res.status, `${path}: ${text}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${path}: ${text}`).toBeLessThan(500);
      // Azure's error shape, whatever refused it.
      expect(JSON.parse(text), path).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    }
    expect(aig.requests).toEqual([]);
    expect(providers.requests).toEqual([]);
  });
});

describe("azure-openai via Cloudflare AI Gateway: pass-through endpoints", () => {
  it("a declared pass-through deployment endpoint goes to azure-openai/{resource}/{deployment}/…", async () => {
    const res = await post("/openai/deployments/whisper/audio/transcriptions?api-version=2024-10-21", "{}");
    await res.arrayBuffer();
    expect(aig.requests).toHaveLength(1);
    expect(aig.requests[0]).toMatchObject({ slug: "azure-openai", path: `/${RESOURCE}/whisper/audio/transcriptions` });
    expect(aig.requests[0]?.headers["api-key"]).toBe(providers.keys.azure);
  });

  it("attacker: a pass-through {id} that is no deployment name (a host-like spelling, sub-delimiters) is refused before anything is sent; the v1 pass-through too", async () => {
    for (const deployment of ["other-resource@evil", "a;b=c", "x'y", "(x)", "a+b", "a,b", "a!b", "a$b"]) {
      const res = await post(`/openai/deployments/${deployment}/audio/transcriptions?api-version=2024-10-21`, "{}");
      const json = (await res.json()) as { error?: { code?: string; message?: string } };
      expect(res.status, `${deployment}: ${JSON.stringify(json)}`).toBe(400);
      expect(json.error?.code, deployment).toBe("BadRequest");
      expect(json.error?.message, deployment).toMatch(/one path segment of letters, digits/);
    }
    const v1 = await post("/openai/v1/audio/transcriptions", "{}");
    expect(v1.status).toBe(400);
    expect(((await v1.json()) as { error?: { message?: string } }).error?.message).toMatch(/not the v1 API/);
    expect(aig.requests).toEqual([]);
    expect(providers.requests).toEqual([]);
  });
});

describe("azure-openai via Cloudflare AI Gateway: the config", () => {
  const via = (extra: Record<string, unknown> = {}) => ({ cloudflareAiGateway: { accountId: ACCOUNT_ID, gatewayId: GATEWAY_ID, tokenEnv: "CF_AIG_TOKEN", ...extra } });
  const issues = (azure: Record<string, unknown>): string[] => {
    const result = orgConfigSchema.safeParse({ providers: { "azure-openai": azure } });
    return result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };

  it("accepts a resource and via; refuses via without the resource, saying AI Gateway's URL names it", () => {
    expect(issues({ resource: RESOURCE, via: via() })).toEqual([]);
    expect(issues({ via: via() })).toEqual(["providers.azure-openai.resource: azure-openai via Cloudflare AI Gateway needs resource (the <resource> of https://<resource>.openai.azure.com): AI Gateway's URL names it, azure-openai/{resource}/{deployment}/…"]);
  });

  it("refuses BYOK (Cloudflare documents only the caller's api-key for Azure) and upstream next to via", () => {
    expect(issues({ resource: RESOURCE, via: via({ byok: true }) })).toEqual([expect.stringContaining("azure-openai cannot use AI Gateway's stored keys (BYOK): Cloudflare documents only caller-made credentials for azure-openai; set byok: false")]);
    expect(issues({ resource: RESOURCE, upstream: "https://contoso-openai.openai.azure.com", via: via() })).toEqual([expect.stringContaining("azure-openai goes via Cloudflare AI Gateway, whose URL replaces upstream")]);
  });

  it("refuses the gateway's start with a via route that has no resource", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-aig-azure-nores-"));
    writeFileSync(join(dir, "gatehouse.yaml"), ["providers:", "  azure-openai:", `    via: { cloudflareAiGateway: { accountId: "${ACCOUNT_ID}", gatewayId: ${GATEWAY_ID}, tokenEnv: CF_AIG_TOKEN } }`, ""].join("\n"));
    const env = { AZURE_OPENAI_API_KEY: "k", CF_AIG_TOKEN: AIG_TOKEN, GATEHOUSE_DEV_TOKEN: CLIENT_TOKEN };
    const settings = parseSettings(env, { configDir: dir, dataDir: join(dir, "data"), port: 0 });
    await expect(startGateway({ settings, env, offline: true })).rejects.toThrow(/azure-openai via Cloudflare AI Gateway needs resource/);
  });

  it("is left out of the OpenCode config: OpenCode's Azure SDK calls the v1 API, which AI Gateway does not serve for Azure", async () => {
    const res = await fetch(`${gateway.url}/.well-known/opencode`);
    expect(res.status).toBe(200);
    const served = (await res.json()) as { config: { provider?: Record<string, unknown> } };
    expect(Object.keys(served.config.provider ?? {})).not.toContain("azure");
  });
});
