import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CLIENT_TOKEN, ledgerRows, snapshotCost } from "./harness.ts";
import { startCloudHarness, type CloudHarness } from "./bedrock-vertex-harness.ts";

/**
 * The real Claude Code CLI in its own Bedrock mode and Vertex mode, pointed at the gateway as
 * Anthropic's gateway docs say (…_BASE_URL, SKIP_…_AUTH), offline, with no cloud credentials:
 * the answer is shown, and the ledger row is exact. Runs when the CLI's platform binary is
 * installed (@anthropic-ai/claude-code's linux-x64 package); skipped otherwise.
 */
const claude = new URL("../../node_modules/@anthropic-ai/claude-code-linux-x64/claude", import.meta.url).pathname;

let h: CloudHarness;
beforeAll(async () => {
  h = await startCloudHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.fake.reset();
  h.fake.setDefault({ text: "PONG from the cloud route", chunks: 3, usage: { input: 500, output: 20, cacheRead: 100 } });
});

async function runClaude(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const home = mkdtempSync(join(tmpdir(), "gatehouse-claude-code-"));
  const child = spawn(claude, ["-p", "say hi"], {
    cwd: home,
    env: {
      PATH: process.env["PATH"] ?? "",
      HOME: home,
      DISABLE_AUTOUPDATER: "1",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_TELEMETRY: "1",
      // The gateway token: the header every Claude Code version sends in these modes.
      ANTHROPIC_CUSTOM_HEADERS: `Authorization: Bearer ${CLIENT_TOKEN}`,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (out += c.toString()));
  const timer = setTimeout(() => child.kill(), 120_000);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  clearTimeout(timer);
  return { code, out };
}

const cost = (price: { input: number; output: number; cache_read?: number }) => (500 * price.input + 20 * price.output + 100 * (price.cache_read ?? Number.NaN)) / 1_000_000;

describe.skipIf(!existsSync(claude))("Claude Code through the cloud routes", () => {
  it("Bedrock mode: CLAUDE_CODE_USE_BEDROCK + ANTHROPIC_BEDROCK_BASE_URL + CLAUDE_CODE_SKIP_BEDROCK_AUTH", async () => {
    const model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    const run = await runClaude({ CLAUDE_CODE_USE_BEDROCK: "1", ANTHROPIC_BEDROCK_BASE_URL: `${h.gateway.url}/bedrock`, CLAUDE_CODE_SKIP_BEDROCK_AUTH: "1", AWS_REGION: "us-east-1", ANTHROPIC_MODEL: model });
    expect({ code: run.code, tail: run.code === 0 ? "" : run.out.slice(-2000) }).toEqual({ code: 0, tail: "" });
    expect(run.out).toContain("PONG from the cloud route");
    const calls = h.fake.requests.filter((r) => r.rawPath.endsWith("/invoke-with-response-stream"));
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) expect(call.headers["authorization"]).toMatch(/^AWS4-HMAC-SHA256 /);
    await h.gateway.ledger.flush();
    const rows = (await ledgerRows(h)).filter((r) => r.provider === "bedrock" && r.endpoint === "invoke_stream");
    expect(rows.length).toBe(calls.length);
    for (const row of rows) {
      expect(row).toMatchObject({ model, status: 200, input_tokens: 500, output_tokens: 20, cache_read_tokens: 100, estimated: 0, client: "claude-code" });
      expect(row.cost_usd).toBeCloseTo(cost(snapshotCost("amazon-bedrock", model)), 12);
    }
  }, 180_000);

  it("Vertex mode: CLAUDE_CODE_USE_VERTEX + ANTHROPIC_VERTEX_BASE_URL + CLAUDE_CODE_SKIP_VERTEX_AUTH", async () => {
    const model = "claude-sonnet-4-5@20250929";
    const run = await runClaude({
      CLAUDE_CODE_USE_VERTEX: "1",
      ANTHROPIC_VERTEX_BASE_URL: `${h.gateway.url}/vertex/v1`,
      CLAUDE_CODE_SKIP_VERTEX_AUTH: "1",
      ANTHROPIC_VERTEX_PROJECT_ID: "a-project-the-gateway-replaces",
      CLOUD_ML_REGION: "global",
      ANTHROPIC_MODEL: model,
    });
    expect({ code: run.code, tail: run.code === 0 ? "" : run.out.slice(-2000) }).toEqual({ code: 0, tail: "" });
    expect(run.out).toContain("PONG from the cloud route");
    const calls = h.fake.requests.filter((r) => r.path.endsWith(":streamRawPredict"));
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) {
      expect(call.path).toBe(`/v1/projects/${h.fake.vertex.project}/locations/us-east5/publishers/anthropic/models/${model}:streamRawPredict`);
      expect(call.headers["authorization"]).toMatch(/^Bearer ya29\./);
    }
    await h.gateway.ledger.flush();
    const rows = (await ledgerRows(h)).filter((r) => r.provider === "vertex" && r.endpoint === "messages_stream");
    expect(rows.length).toBe(calls.length);
    for (const row of rows) {
      expect(row).toMatchObject({ model, status: 200, input_tokens: 500, output_tokens: 20, cache_read_tokens: 100, estimated: 0, client: "claude-code" });
      expect(row.cost_usd).toBeCloseTo(cost(snapshotCost("google-vertex", model)), 12);
    }
  }, 180_000);
});
