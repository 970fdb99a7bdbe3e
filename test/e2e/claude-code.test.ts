import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { snapshotCost } from "../gateway/harness.ts";
import { CLAUDE, claudeEnv, HALF_EVENT_PARSE_ERROR } from "./clients.ts";
import { runGatehouse } from "./setup-harness.ts";
import { clientHome, DEV_TOKEN, expectRowsExact, modelRequests, PROVIDER_KEYS, providerKeysIn, runClient, startServedGateway, type ClientRun, type ServedGateway } from "./served-gateway.ts";

const MODEL = "claude-sonnet-4-5";
const USAGE = { input: 1000, output: 50 };
const SECRET = "PINEAPPLE-77";
const ANSWER = `The secret word is ${SECRET}, says Claude through Gatehouse.`;
const price = snapshotCost("anthropic", MODEL);
const dump = (run: ClientRun, gw: ServedGateway) => `claude exit ${String(run.code)} in ${run.ms} ms\nstdout: ${run.stdout}\nstderr: ${run.stderr}\ngateway: ${gw.output()}`;

/** `claude -p` with the gateway as ANTHROPIC_BASE_URL and the gateway token as its API key (the manual setup of docs/clients/claude-code.md). */
async function runClaude(gw: ServedGateway, home: string, project: string): Promise<ClientRun> {
  const env = claudeEnv(home, { ANTHROPIC_BASE_URL: `${gw.url}/anthropic`, ANTHROPIC_API_KEY: DEV_TOKEN });
  return runClient(CLAUDE, ["-p", "Read secret.txt and tell me the secret word.", "--model", MODEL], { env, cwd: project });
}

/** Every request reached the fake with the real key and without the caller's token. */
function expectForwardedSafely(gw: ServedGateway): void {
  for (const request of gw.fake.requests) {
    expect(request.headers["x-api-key"]).toBe(PROVIDER_KEYS.anthropic);
    expect(request.headers["authorization"]).toBeUndefined();
    expect(JSON.stringify(request.headers) + request.bodyText).not.toContain(DEV_TOKEN);
  }
}

describe("Claude Code (claude -p, real 2.1.197 binary) through gatehouse serve", () => {
  it("one tool turn: the fake calls Read, Claude Code reads the file, the fake answers; ledger exact, key never reaches the client", async () => {
    const gw = await startServedGateway();
    try {
      const { home, project, file } = clientHome("claude", "secret.txt", `The secret word is ${SECRET}.\n`);
      gw.fake.setDefault({ toolCall: { name: "Read", arguments: { file_path: file } }, text: ANSWER, usage: USAGE });
      const run = await runClaude(gw, home, project);
      expect(run.code, dump(run, gw)).toBe(0);
      expect(run.stdout).toContain(ANSWER);

      const requests = modelRequests(gw.fake.requests);
      expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(requests.map(() => "POST /v1/messages"));
      // The tool really ran: the file's content exists only on disk, and came back as a tool_result.
      const withResult = requests.filter((r) => r.bodyText.includes('"tool_result"'));
      expect(withResult.length, dump(run, gw)).toBe(1);
      expect(withResult[0]?.bodyText).toContain(SECRET);
      expectForwardedSafely(gw);

      const rows = await gw.stopAndReadLedger();
      expectRowsExact(rows, requests.length, { provider: "anthropic", model: MODEL, endpoint: "messages" }, USAGE, price);
      expect(providerKeysIn([run.stdout, run.stderr], home)).toEqual([]);
    } finally {
      await gw.close();
    }
  }, 90_000);

  // Event-boundary SSE forwarding: the half event is dropped and the gateway's error event follows a clean boundary.
  it("a stream cut inside an event: Claude Code fails cleanly with an error, never a JSON parse error of a half event", async () => {
    const gw = await startServedGateway();
    try {
      const { home, project } = clientHome("claude-cut", "secret.txt", `The secret word is ${SECRET}.\n`);
      // Streams break inside an event; Claude Code's non-streaming retry gets half a JSON body
      // (failAfterEvents only strikes JSON answers here: no stream has a thousand events).
      gw.fake.setDefault({ text: ANSWER, chunks: 6, cutInsideEvent: { afterEvents: 4, bytes: 40 }, failAfterEvents: 1000, usage: USAGE });
      const run = await runClaude(gw, home, project);
      const shown = run.stdout + run.stderr;
      expect(shown, dump(run, gw)).not.toMatch(HALF_EVENT_PARSE_ERROR);
      expect(run.code, dump(run, gw)).not.toBe(0);
      expect(shown).toMatch(/error/i);
      expectForwardedSafely(gw);
      const rows = await gw.stopAndReadLedger();
      expect(rows).toHaveLength(modelRequests(gw.fake.requests).length);
      for (const row of rows) expect(row).toMatchObject({ provider: "anthropic", model: MODEL, outcome: "upstream_failed" });
      expect(providerKeysIn([run.stdout, run.stderr], home)).toEqual([]);
    } finally {
      await gw.close();
    }
  }, 90_000);

  it("gatehouse setup claude-code <url>: merges settings.json (backup kept), signs in once; the real claude with nothing but HOME does a tool turn as the signed-in person; a re-run changes nothing", async () => {
    const gw = await startServedGateway();
    try {
      const { home, project, file } = clientHome("claude-setup", "secret.txt", `The secret word is ${SECRET}.\n`);
      const settingsFile = join(home, ".claude", "settings.json");
      mkdirSync(join(home, ".claude"), { recursive: true });
      const mine = `${JSON.stringify({ theme: "dark", env: { KEEP_ME: "1" }, permissions: { allow: ["Read"] } }, null, 2)}\n`;
      writeFileSync(settingsFile, mine);

      const setup = await runGatehouse(["setup", "claude-code", gw.url], home, "alice@example.com");
      expect(setup.code, setup.stderr).toBe(0);
      expect(setup.signedIn, "no token was kept yet: setup signs in").toBe(true);
      const settings = JSON.parse(readFileSync(settingsFile, "utf8")) as { apiKeyHelper: string; env: Record<string, string> };
      expect(settings).toMatchObject({ theme: "dark", permissions: { allow: ["Read"] }, env: { KEEP_ME: "1", ANTHROPIC_BASE_URL: `${gw.url}/anthropic` } });
      expect(settings.apiKeyHelper).toMatch(new RegExp(`login --print-token ${gw.url}$`));
      const backups = readdirSync(join(home, ".claude")).filter((f) => f.startsWith("settings.json.bak-"));
      expect(backups).toHaveLength(1);
      expect(readFileSync(join(home, ".claude", backups[0] as string), "utf8")).toBe(mine);

      const written = readFileSync(settingsFile, "utf8");
      const again = await runGatehouse(["setup", "claude-code", gw.url], home); // no email: a second sign-in would fail the run
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain("already set up; nothing changed");
      expect(readFileSync(settingsFile, "utf8")).toBe(written);
      expect(readdirSync(join(home, ".claude")).filter((f) => f.startsWith("settings.json.bak-"))).toHaveLength(1);

      gw.fake.setDefault({ toolCall: { name: "Read", arguments: { file_path: file } }, text: ANSWER, usage: USAGE });
      // No ANTHROPIC_* variable: only what setup wrote under HOME.
      const run = await runClient(CLAUDE, ["-p", "Read secret.txt and tell me the secret word.", "--model", MODEL], { env: claudeEnv(home), cwd: project });
      expect(run.code, dump(run, gw)).toBe(0);
      expect(run.stdout).toContain(ANSWER);
      const requests = modelRequests(gw.fake.requests);
      expect(requests.filter((r) => r.bodyText.includes('"tool_result"') && r.bodyText.includes(SECRET))).toHaveLength(1);
      for (const request of gw.fake.requests) expect(request.headers["x-api-key"]).toBe(PROVIDER_KEYS.anthropic);
      const rows = await gw.stopAndReadLedger();
      expect(rows).toHaveLength(requests.length);
      for (const row of rows) expect(row).toMatchObject({ caller_email: "alice@example.com", model: MODEL, status: 200, outcome: "completed", input_tokens: USAGE.input, output_tokens: USAGE.output });
      expect(existsSync(join(home, ".config", "gatehouse", "tokens.json"))).toBe(true);
      expect(providerKeysIn([setup.stdout, setup.stderr, run.stdout, run.stderr], home)).toEqual([]);
    } finally {
      await gw.close();
    }
  }, 120_000);
});
