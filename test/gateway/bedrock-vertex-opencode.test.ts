import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runOpencodeWithServedProviders } from "../e2e/opencode-harness.ts";
import { CLIENT_TOKEN, ledgerRows } from "./harness.ts";
import { startCloudHarness, type CloudHarness } from "./bedrock-vertex-harness.ts";

/**
 * The real OpenCode client (its bundled @ai-sdk/amazon-bedrock and @ai-sdk/google-vertex)
 * configured only from what the gateway serves at /.well-known/opencode: Bedrock's Converse
 * stream and Vertex's Gemini stream answer through the gateway, which signs and meters them.
 */
const opencode = new URL("../../node_modules/opencode-linux-x64/bin/opencode", import.meta.url).pathname;

let h: CloudHarness;
let served: { provider: Record<string, { options: Record<string, unknown>; models?: Record<string, unknown> }> };
beforeAll(async () => {
  h = await startCloudHarness();
  h.fake.setDefault({ text: "PONG through the cloud route", chunks: 3, usage: { input: 321, output: 12 } });
  served = ((await (await fetch(`${h.gateway.url}/.well-known/opencode`)).json()) as { config: typeof served }).config;
});
afterAll(async () => {
  await h.close();
});

/** The real OpenCode with only the served providers and the gateway token: no provider key, no cloud credentials. */
function runOpenCode(model: string) {
  return runOpencodeWithServedProviders(served.provider, model, CLIENT_TOKEN, "gatehouse-oc-cloud-");
}

describe.skipIf(!existsSync(opencode))("OpenCode on the cloud routes, from the served config", () => {
  it("serves amazon-bedrock and google-vertex with no cloud credentials and no provider key", () => {
    const bedrock = served.provider["amazon-bedrock"];
    const vertex = served.provider["google-vertex"];
    expect(bedrock?.options).toMatchObject({ baseURL: `${h.gateway.url}/bedrock`, apiKey: "gatehouse", headers: { "cf-access-token": "{env:GATEHOUSE_TOKEN}" } });
    expect(vertex?.options).toMatchObject({ baseURL: `${h.gateway.url}/vertex/v1/projects/gatehouse/locations/global/publishers/google`, apiKey: "gatehouse" });
    expect(Object.keys(bedrock?.models ?? {})).toContain("anthropic.claude-sonnet-4-5-20250929-v1:0");
    expect(Object.keys(vertex?.models ?? {}).every((id) => id.startsWith("gemini-"))).toBe(true);
    const text = JSON.stringify(served);
    for (const secret of [h.fake.aws.secretAccessKey, h.fake.aws.accessKeyId, String(h.fake.vertex.serviceAccountKey["private_key"]).split("\n")[1] ?? "x"]) expect(text).not.toContain(secret);
  });

  it("answers over Bedrock ConverseStream and Vertex Gemini, each request signed by the gateway and metered", async () => {
    const runs = await Promise.all(["amazon-bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0", "google-vertex/gemini-2.5-flash"].map((model) => runOpenCode(model)));
    for (const run of runs) {
      expect({ code: run.code, tail: run.code === 0 ? "" : run.out.slice(-2000) }).toEqual({ code: 0, tail: "" });
      expect(run.out).toContain("PONG through the cloud route");
    }
    const paths = h.fake.requests.map((r) => r.rawPath);
    expect(paths.some((p) => /^\/model\/[a-z]+\.anthropic\.claude-sonnet-4-5-20250929-v1%3A0\/converse-stream$/.test(p))).toBe(true);
    expect(paths).toContain(`/v1/projects/${h.fake.vertex.project}/locations/us-east5/publishers/google/models/gemini-2.5-flash:streamGenerateContent`);
    await h.gateway.ledger.flush();
    const rows = (await ledgerRows(h)).filter((r) => r.input_tokens === 321);
    expect(rows.some((r) => r.provider === "bedrock" && r.endpoint === "converse_stream" && r.estimated === 0 && (r.cost_usd ?? 0) > 0)).toBe(true);
    expect(rows.some((r) => r.provider === "vertex" && r.endpoint === "stream_generate" && r.estimated === 0 && (r.cost_usd ?? 0) > 0)).toBe(true);
  }, 180_000);
});
