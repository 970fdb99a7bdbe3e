import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseSettings } from "../../src/core/settings.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { startGateway, type RunningGateway } from "../../src/adapters/node/server.ts";
import { startFakeUpstream } from "../fake-upstream/index.ts";
import type { FakeUpstream } from "../fake-upstream/types.ts";
import { startFakeAiGateway, type FakeAiGateway } from "../fake-upstream/ai-gateway.ts";
import { CLIENT_TOKEN, devCallerId, rowWhenWritten, snapshotCost, type Harness } from "./harness.ts";
import { ACCOUNT_ID, AIG_TOKEN, GATEWAY_ID } from "./ai-gateway-harness.ts";

/**
 * Bedrock and Vertex AI via Cloudflare AI Gateway, as Cloudflare's provider pages describe them:
 * Bedrock at aws-bedrock/bedrock-runtime/{region}/model/…, still SigV4-signed for the original
 * host (the fake AI Gateway forwards to that host and the fake Bedrock recomputes the signature
 * with AWS's signer), Vertex at google-vertex-ai/v1/projects/…, with Gatehouse's access token.
 */
let providers: FakeUpstream;
let aig: FakeAiGateway;
let gateway: RunningGateway;
let asHarness: Harness;

beforeAll(async () => {
  providers = await startFakeUpstream();
  aig = await startFakeAiGateway({ providersUrl: providers.url, accountId: ACCOUNT_ID, gatewayId: GATEWAY_ID, token: AIG_TOKEN });
  const via = `    via: { cloudflareAiGateway: { accountId: "${ACCOUNT_ID}", gatewayId: ${GATEWAY_ID}, tokenEnv: CF_AIG_TOKEN, baseUrl: "${aig.baseUrl}" } }`;
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-aig-cloud-"));
  writeFileSync(join(dir, "gatehouse.yaml"), ["providers:", "  bedrock:", `    region: ${providers.aws.region}`, via, "  vertex:", `    project: ${providers.vertex.project}`, "    location: us-east5", via, ""].join("\n"));
  const env = {
    AWS_ACCESS_KEY_ID: providers.aws.accessKeyId,
    AWS_SECRET_ACCESS_KEY: providers.aws.secretAccessKey,
    GOOGLE_SERVICE_ACCOUNT_KEY: JSON.stringify(providers.vertex.serviceAccountKey),
    CF_AIG_TOKEN: AIG_TOKEN,
    GATEHOUSE_DEV_TOKEN: CLIENT_TOKEN,
  };
  const settings = parseSettings(env, { configDir: dir, dataDir: join(dir, "data"), port: 0 });
  gateway = await startGateway({ settings, env, logger: silentLogger, offline: true });
  asHarness = { gateway, fake: providers, dir, close: async () => void (await gateway.close()) };
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

const perM = (tokens: number, price: number) => (tokens * price) / 1_000_000;
const SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0";

function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}` }, body: JSON.stringify(body) });
}

describe("cloud routes via Cloudflare AI Gateway", () => {
  it("bedrock: aws-bedrock/bedrock-runtime/{region}/model/…/invoke, signed for bedrock-runtime.{region}.amazonaws.com (the fake Bedrock verifies it), cf-aig-* outside the signature; the row exact", async () => {
    providers.enqueue({ usage: { input: 800, output: 90 } });
    const res = await post(`/bedrock/model/${encodeURIComponent(SONNET)}/invoke`, { anthropic_version: "bedrock-2023-05-31", max_tokens: 100, messages: [{ role: "user", content: "hi" }] });
    expect(res.status).toBe(200);
    const seen = aig.requests[0];
    expect(seen).toMatchObject({ slug: "aws-bedrock", path: `/bedrock-runtime/${providers.aws.region}/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke`, answeredBy: "provider" });
    expect(seen?.headers["cf-aig-authorization"]).toBe(`Bearer ${AIG_TOKEN}`);
    expect(seen?.metadata).toEqual({ userId: await devCallerId(asHarness) });
    const signature = seen?.headers["authorization"] ?? "";
    expect(signature).toMatch(/^AWS4-HMAC-SHA256 /);
    expect(signature).not.toContain("cf-aig");
    expect(providers.requests[0]?.headers["host"]).toBe(`bedrock-runtime.${providers.aws.region}.amazonaws.com`);
    const row = await rowWhenWritten(asHarness, res.headers.get("x-gatehouse-request-id") ?? "");
    const price = snapshotCost("amazon-bedrock", SONNET);
    expect(row).toMatchObject({ provider: "bedrock", model: SONNET, status: 200, input_tokens: 800, output_tokens: 90, estimated: 0 });
    expect(row.cost_usd).toBeCloseTo(perM(800, price.input) + perM(90, price.output), 12);
  });

  it("vertex: google-vertex-ai/v1/projects/{project}/locations/{location}/publishers/…, with Gatehouse's access token; the row exact", async () => {
    providers.enqueue({ usage: { input: 75, output: 11 } });
    const res = await post(`/vertex/v1/projects/client-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent`, { contents: [{ role: "user", parts: [{ text: "hi" }] }] });
    expect(res.status).toBe(200);
    const seen = aig.requests[0];
    expect(seen).toMatchObject({ slug: "google-vertex-ai", path: `/v1/projects/${providers.vertex.project}/locations/us-east5/publishers/google/models/gemini-2.5-flash:generateContent` });
    expect(seen?.headers["authorization"]).toMatch(/^Bearer /);
    const row = await rowWhenWritten(asHarness, res.headers.get("x-gatehouse-request-id") ?? "");
    expect(row).toMatchObject({ provider: "vertex", model: "gemini-2.5-flash", status: 200, input_tokens: 75, output_tokens: 11, estimated: 0 });
  });
});
