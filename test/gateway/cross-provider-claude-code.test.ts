import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ledgerRows, snapshotCost } from "./harness.ts";
import { CALLERS, startCrossHarness, type CrossHarness } from "./cross-provider-harness.ts";

/**
 * The real Claude Code CLI in its ordinary Anthropic mode (ANTHROPIC_BASE_URL at the gateway's
 * /anthropic), with Anthropic direct overloaded on every request: each request is served by
 * Claude on Bedrock, re-framed into Anthropic's stream, and Claude Code shows the answer as it
 * would Anthropic's. Runs when the CLI's platform binary is installed; skipped otherwise.
 */
const claude = new URL("../../node_modules/@anthropic-ai/claude-code-linux-x64/claude", import.meta.url).pathname;
const ALIAS = "claude-fallback";
const BEDROCK_HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0";
const USAGE = { input: 500, output: 20, cacheRead: 100 };

let h: CrossHarness;
beforeAll(async () => {
  h = await startCrossHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.anthropic.reset();
  h.cloud.reset();
  h.anthropic.setDefault({ status: 529 });
  h.cloud.setDefault({ text: "PONG from Bedrock after Anthropic was overloaded", chunks: 3, usage: USAGE });
  h.setPolicy({ groups: { eng: { models: ["anthropic/*", "bedrock/*"] } }, routing: { aliases: { [ALIAS]: ["anthropic/claude-haiku-4-5", `bedrock/${BEDROCK_HAIKU}`] } }, circuitBreaker: { failureThreshold: 1_000_000, openSeconds: 1 } });
});

async function runClaude(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const home = mkdtempSync(join(tmpdir(), "gatehouse-claude-code-"));
  const child = spawn(claude, ["-p", "say hi"], {
    cwd: home,
    env: { PATH: process.env["PATH"] ?? "", HOME: home, DISABLE_AUTOUPDATER: "1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1", DISABLE_TELEMETRY: "1", ...env },
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

describe.skipIf(!existsSync(claude))("Claude Code on Anthropic's API, served by Bedrock", () => {
  it("shows Bedrock's answer as Anthropic's; every request is metered at the amazon-bedrock price", async () => {
    const run = await runClaude({
      ANTHROPIC_BASE_URL: `${h.gateway.url}/anthropic`,
      ANTHROPIC_AUTH_TOKEN: CALLERS.everywhere.token,
      ANTHROPIC_MODEL: ALIAS,
      ANTHROPIC_SMALL_FAST_MODEL: ALIAS,
      ANTHROPIC_DEFAULT_HAIKU_MODEL: ALIAS,
    });
    expect({ code: run.code, tail: run.code === 0 ? "" : run.out.slice(-2000) }).toEqual({ code: 0, tail: "" });
    expect(run.out).toContain("PONG from Bedrock after Anthropic was overloaded");
    const served = h.cloud.requests.filter((r) => r.rawPath.startsWith("/model/"));
    expect(served.length).toBeGreaterThan(0);
    // Claude Code streams its answer: the Anthropic SSE it read was Bedrock's event stream re-framed.
    expect(served.some((r) => r.rawPath.endsWith("/invoke-with-response-stream"))).toBe(true);
    for (const call of served) expect(call.headers["authorization"]).toMatch(/^AWS4-HMAC-SHA256 /);
    await h.gateway.ledger.flush();
    const rows = (await ledgerRows(h)).filter((r) => r.provider === "bedrock");
    expect(rows.length).toBe(served.length);
    const price = snapshotCost("amazon-bedrock", BEDROCK_HAIKU);
    for (const row of rows) {
      expect(row).toMatchObject({ model: BEDROCK_HAIKU, requested_provider: "anthropic", requested_model: ALIAS, attempts: 2, status: 200, input_tokens: 500, output_tokens: 20, cache_read_tokens: 100, estimated: 0, client: "claude-code" });
      expect(row.cost_usd).toBeCloseTo((500 * price.input + 20 * price.output + 100 * (price.cache_read ?? Number.NaN)) / 1_000_000, 12);
    }
  }, 180_000);
});
