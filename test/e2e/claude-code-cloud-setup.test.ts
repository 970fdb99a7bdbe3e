import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { snapshotCost } from "../gateway/harness.ts";
import type { FakeUpstream } from "../fake-upstream/types.ts";
import { CLAUDE, claudeEnv } from "./clients.ts";
import { runGatehouse } from "./setup-harness.ts";
import { clientHome, filesUnder, PROVIDER_KEYS, providerKeysIn, runClient, startServedGateway, type ClientRun, type LedgerRow, type ServedGateway } from "./served-gateway.ts";

/**
 * `gatehouse setup claude-code --bedrock` / `--vertex` against a real `gatehouse serve` that
 * routes Bedrock and Vertex AI to the wire-exact fakes (SigV4 checked, OAuth exchanged), then
 * the real Claude Code 2.1.197 configured by nothing but what setup wrote under HOME: the
 * answer is shown, every request is a ledger row for the signed-in person, on the cloud
 * provider, priced exactly; the settings file keeps the user's keys, a re-run changes nothing,
 * switching modes leaves nothing of the previous one, and no secret but the kept gateway token
 * is on disk.
 */
const BEDROCK_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const VERTEX_MODEL = "claude-sonnet-4-5@20250929";
const VERTEX_SMALL = "claude-haiku-4-5@20251001";
const ANTHROPIC_MODEL = "claude-sonnet-4-5";
const USAGE = { input: 500, output: 20, cacheRead: 100 };
const ANSWER = "PONG through the cloud route, configured by gatehouse setup.";
const SESSION_TOKEN = "IQoJb3JpZ2luX2VjEFAKE-served-session-token";

/** Bedrock in the fake's region with the fake's AWS keys, Vertex with its service-account key; the org's default model is a Bedrock one, Vertex's Claude models are whitelisted. */
const cloudProviders = (fake: FakeUpstream) => ({
  config: [
    "  bedrock:",
    `    upstream: ${fake.url}`,
    `    region: ${fake.aws.region}`,
    "  vertex:",
    `    upstream: ${fake.url}`,
    `    project: ${fake.vertex.project}`,
    "    location: us-east5",
    `    whitelist: [gemini-2.5-pro, ${VERTEX_MODEL}, ${VERTEX_SMALL}]`,
    `model: bedrock/${BEDROCK_MODEL}`,
    "",
  ].join("\n"),
  env: { AWS_ACCESS_KEY_ID: fake.aws.accessKeyId, AWS_SECRET_ACCESS_KEY: fake.aws.secretAccessKey, AWS_SESSION_TOKEN: SESSION_TOKEN, GOOGLE_SERVICE_ACCOUNT_KEY: JSON.stringify(fake.vertex.serviceAccountKey) },
});

/** Every credential only the gateway (or the fake) may hold. */
function secretsOf(fake: FakeUpstream): string[] {
  const key = fake.vertex.serviceAccountKey;
  return [...Object.values(PROVIDER_KEYS), fake.aws.accessKeyId, fake.aws.secretAccessKey, SESSION_TOKEN, key["private_key_id"] ?? "", (key["private_key"] ?? "").split("\n")[1] ?? "", key["client_email"] ?? ""].filter((s) => s.length > 8);
}

const price = (provider: string, model: string) => {
  const p = snapshotCost(provider, model);
  return (USAGE.input * p.input + USAGE.output * p.output + USAGE.cacheRead * (p.cache_read ?? Number.NaN)) / 1e6;
};

function expectRowsFor(rows: readonly LedgerRow[], provider: string, catalogProvider: string, calls: number, models: readonly string[]): void {
  const mine = rows.filter((r) => r.provider === provider);
  expect(mine, `one ${provider} row per request the fake answered`).toHaveLength(calls);
  for (const row of mine) {
    expect(models).toContain(row.model);
    expect(row).toMatchObject({ caller_email: "alice@example.com", status: 200, outcome: "completed", input_tokens: USAGE.input, output_tokens: USAGE.output, cache_read_tokens: USAGE.cacheRead, unpriced: 0 });
    expect(row.cost_usd).toBeCloseTo(price(catalogProvider, row.model), 12);
  }
}

const dump = (run: ClientRun, gw: ServedGateway) => `claude exit ${String(run.code)} in ${run.ms} ms\nstdout: ${run.stdout}\nstderr: ${run.stderr}\ngateway: ${gw.output()}`;
const settingsOf = (file: string) => JSON.parse(readFileSync(file, "utf8")) as { apiKeyHelper: string; env: Record<string, string>; [key: string]: unknown };

describe("gatehouse setup claude-code --bedrock / --vertex, then the real Claude Code", () => {
  it("Bedrock, then Vertex, then back to the Anthropic API: each answered and metered for the signed-in person; the user's settings kept, re-runs idempotent, no variable of the previous mode left, no secret on disk", async () => {
    const gw = await startServedGateway(undefined, cloudProviders);
    try {
      gw.fake.setDefault({ text: ANSWER, chunks: 3, usage: USAGE });
      const { home, project } = clientHome("claude-cloud-setup", "notes.txt", "nothing here\n");
      const file = join(home, ".claude", "settings.json");
      mkdirSync(join(home, ".claude"), { recursive: true });
      // The user's own model, in the Anthropic spelling: the written ANTHROPIC_MODEL must win over it in a cloud mode.
      writeFileSync(file, `${JSON.stringify({ theme: "dark", model: "claude-opus-4-8", permissions: { allow: ["Read"] }, env: { KEEP_ME: "1", ANTHROPIC_API_KEY: "sk-ant-users-own-old-key" } }, null, 2)}\n`);
      const claude = (args: string[] = []) => runClient(CLAUDE, ["-p", "say hi", ...args], { env: claudeEnv(home), cwd: project, timeoutMs: 120_000 });

      // Bedrock.
      const setup = await runGatehouse(["setup", "claude-code", "--bedrock", gw.url], home, "alice@example.com");
      expect(setup.code, setup.stderr).toBe(0);
      expect(setup.signedIn).toBe(true);
      expect(setup.stderr).toContain("Removed env.ANTHROPIC_API_KEY");
      const bedrock = settingsOf(file);
      expect(bedrock).toMatchObject({ theme: "dark", model: "claude-opus-4-8", permissions: { allow: ["Read"] } });
      expect(bedrock.env).toEqual({ KEEP_ME: "1", CLAUDE_CODE_USE_BEDROCK: "1", ANTHROPIC_BEDROCK_BASE_URL: `${gw.url}/bedrock`, CLAUDE_CODE_SKIP_BEDROCK_AUTH: "1", AWS_REGION: gw.fake.aws.region, ANTHROPIC_MODEL: BEDROCK_MODEL });
      expect(bedrock.apiKeyHelper).toMatch(new RegExp(`login --print-token ${gw.url}$`));
      const written = readFileSync(file, "utf8");
      const again = await runGatehouse(["setup", "claude-code", "--bedrock", gw.url], home); // no email: a second sign-in would fail the run
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain("already set up; nothing changed");
      expect(readFileSync(file, "utf8")).toBe(written);

      const onBedrock = await claude();
      expect(onBedrock.code, dump(onBedrock, gw)).toBe(0);
      expect(onBedrock.stdout).toContain(ANSWER);
      const bedrockCalls = gw.fake.requests.filter((r) => r.rawPath.endsWith("/invoke-with-response-stream"));
      expect(bedrockCalls.length).toBeGreaterThan(0);
      for (const call of bedrockCalls) expect(call.headers["authorization"]).toMatch(/^AWS4-HMAC-SHA256 /);

      // Vertex: the Bedrock variables go, the Vertex ones come, the user's stay.
      const toVertex = await runGatehouse(["setup", "claude-code", "--vertex", gw.url], home);
      expect(toVertex.code, toVertex.stderr).toBe(0);
      expect(settingsOf(file).env).toEqual({
        KEEP_ME: "1",
        CLAUDE_CODE_USE_VERTEX: "1",
        ANTHROPIC_VERTEX_BASE_URL: `${gw.url}/vertex/v1`,
        CLAUDE_CODE_SKIP_VERTEX_AUTH: "1",
        ANTHROPIC_VERTEX_PROJECT_ID: "gatehouse",
        CLOUD_ML_REGION: "global",
        ANTHROPIC_MODEL: VERTEX_MODEL,
        ANTHROPIC_SMALL_FAST_MODEL: VERTEX_SMALL,
      });
      const onVertex = await claude();
      expect(onVertex.code, dump(onVertex, gw)).toBe(0);
      expect(onVertex.stdout).toContain(ANSWER);
      const vertexCalls = gw.fake.requests.filter((r) => r.path.endsWith(":streamRawPredict"));
      expect(vertexCalls.length).toBeGreaterThan(0);
      // The gateway put the org's project and location in the path, and its own OAuth token.
      for (const call of vertexCalls) {
        expect(call.path).toMatch(new RegExp(`^/v1/projects/${gw.fake.vertex.project}/locations/us-east5/publishers/anthropic/models/(${VERTEX_MODEL}|${VERTEX_SMALL}):streamRawPredict$`));
        expect(call.headers["authorization"]).toMatch(/^Bearer ya29\./);
      }

      // Back to the Anthropic API: no Bedrock or Vertex variable left, nor their models.
      const toPlain = await runGatehouse(["setup", "claude-code", gw.url], home);
      expect(toPlain.code, toPlain.stderr).toBe(0);
      expect(settingsOf(file).env).toEqual({ KEEP_ME: "1", ANTHROPIC_BASE_URL: `${gw.url}/anthropic` });
      const onAnthropic = await claude(["--model", ANTHROPIC_MODEL]);
      expect(onAnthropic.code, dump(onAnthropic, gw)).toBe(0);
      expect(onAnthropic.stdout).toContain(ANSWER);
      const anthropicCalls = gw.fake.requests.filter((r) => r.method === "POST" && r.path === "/v1/messages");
      expect(anthropicCalls.length).toBeGreaterThan(0);

      const rows = await gw.stopAndReadLedger();
      expect(rows).toHaveLength(bedrockCalls.length + vertexCalls.length + anthropicCalls.length);
      expectRowsFor(rows, "bedrock", "amazon-bedrock", bedrockCalls.length, [BEDROCK_MODEL]);
      expectRowsFor(rows, "vertex", "google-vertex", vertexCalls.length, [VERTEX_MODEL, VERTEX_SMALL]);
      expectRowsFor(rows, "anthropic", "anthropic", anthropicCalls.length, [ANTHROPIC_MODEL]);

      // On disk: no cloud credential, no provider key, not even the gateway token in settings.json
      // (apiKeyHelper prints it from the token cache, the one place it is kept).
      const tokens = JSON.parse(readFileSync(join(home, ".config", "gatehouse", "tokens.json"), "utf8")) as Record<string, { token: string }>;
      const token = Object.values(tokens)[0]?.token ?? "";
      expect(token.length).toBeGreaterThan(16);
      expect(readFileSync(file, "utf8")).not.toContain(token);
      expect(written).not.toContain(token);
      const outputs = [setup, again, toVertex, toPlain, onBedrock, onVertex, onAnthropic].flatMap((r) => [r.stdout, r.stderr]);
      expect(providerKeysIn(outputs, home)).toEqual([]);
      const leaks: string[] = [];
      for (const path of filesUnder(home)) {
        const content = readFileSync(path, "latin1");
        for (const secret of secretsOf(gw.fake)) if (content.includes(secret)) leaks.push(`${path} holds ${secret.slice(0, 6)}…`);
      }
      for (const text of outputs) for (const secret of secretsOf(gw.fake)) if (text.includes(secret)) leaks.push(`output holds ${secret.slice(0, 6)}…`);
      expect(leaks).toEqual([]);
    } finally {
      await gw.close();
    }
  }, 300_000);

  it("a gateway that serves no Bedrock or Vertex route: refused with what it serves and what to do, nothing written, no sign-in", async () => {
    const gw = await startServedGateway();
    try {
      const { home } = clientHome("claude-cloud-refused", "notes.txt", "x\n");
      const file = join(home, ".claude", "settings.json");
      mkdirSync(join(home, ".claude"), { recursive: true });
      const mine = `${JSON.stringify({ env: { KEEP_ME: "1" } })}\n`;
      writeFileSync(file, mine);
      for (const flag of ["--bedrock", "--vertex"]) {
        const run = await runGatehouse(["setup", "claude-code", flag, gw.url], home);
        expect(run.code).not.toBe(0);
        expect(run.signedIn).toBe(false);
        expect(run.stderr).toContain(`serves no ${flag.slice(2)} route (it serves: anthropic, openai, google)`);
        expect(run.stderr).toContain(`configure providers.${flag.slice(2)}`);
        expect(readFileSync(file, "utf8")).toBe(mine);
      }
      const both = await runGatehouse(["setup", "claude-code", "--bedrock", "--vertex", gw.url], home);
      expect(both.code).not.toBe(0);
      expect(both.stderr).toContain("--bedrock and --vertex exclude each other");
      expect(filesUnder(join(home, ".claude"))).toEqual([file]);
    } finally {
      await gw.close();
    }
  }, 120_000);
});
