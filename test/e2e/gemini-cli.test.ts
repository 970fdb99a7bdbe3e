import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { snapshotCost } from "../gateway/harness.ts";
import { GEMINI, GEMINI_OFFLINE_SETTINGS, geminiEnv, HALF_EVENT_PARSE_ERROR } from "./clients.ts";
import { runGatehouse } from "./setup-harness.ts";
import { clientHome, DEV_TOKEN, expectRowsExact, modelRequests, PROVIDER_KEYS, providerKeysIn, runClient, startServedGateway, type ClientRun, type ServedGateway } from "./served-gateway.ts";

const MODEL = "gemini-2.5-flash";
const USAGE = { input: 1000, output: 50 };
const SECRET = "PINEAPPLE-77";
const ANSWER = `The secret word is ${SECRET}, says Gemini through Gatehouse.`;
const price = snapshotCost("google", MODEL);
const dump = (run: ClientRun, gw: ServedGateway) => `gemini exit ${String(run.code)} in ${run.ms} ms\nstdout: ${run.stdout}\nstderr: ${run.stderr}\ngateway: ${gw.output()}`;

/**
 * `gemini -p` with GOOGLE_GEMINI_BASE_URL at the gateway and the token as GEMINI_API_KEY.
 * Gemini CLI 0.61 refuses to start with only those two set: settings.json must select the
 * API-key auth type (security.auth.selectedType), the workaround docs/clients/gemini-cli.md gives.
 */
async function runGemini(gw: ServedGateway, home: string, project: string): Promise<ClientRun> {
  mkdirSync(join(home, ".gemini"), { recursive: true });
  writeFileSync(join(home, ".gemini", "settings.json"), JSON.stringify({ ...GEMINI_OFFLINE_SETTINGS, security: { auth: { selectedType: "gemini-api-key" } } }));
  const env = geminiEnv(home, { GOOGLE_GEMINI_BASE_URL: `${gw.url}/google-ai-studio`, GEMINI_API_KEY: DEV_TOKEN });
  return runClient(process.execPath, [GEMINI, "-p", "Read secret.txt and tell me the secret word.", "-m", MODEL], { env, cwd: project });
}

function expectForwardedSafely(gw: ServedGateway): void {
  for (const request of gw.fake.requests) {
    expect(request.headers["x-goog-api-key"]).toBe(PROVIDER_KEYS.google);
    expect(request.search).not.toContain("key=");
    expect(JSON.stringify(request.headers) + request.bodyText).not.toContain(DEV_TOKEN);
  }
}

describe("Gemini CLI (gemini -p, real 0.61.0) through gatehouse serve", () => {
  it("one tool turn: the fake calls read_file, Gemini CLI reads the file, the fake answers; ledger exact, key never reaches the client", async () => {
    const gw = await startServedGateway();
    try {
      const { home, project } = clientHome("gemini", "secret.txt", `The secret word is ${SECRET}.\n`);
      gw.fake.setDefault({ toolCall: { name: "read_file", arguments: { file_path: "secret.txt" } }, text: ANSWER, usage: USAGE });
      const run = await runGemini(gw, home, project);
      expect(run.code, dump(run, gw)).toBe(0);
      expect(run.stdout).toContain(ANSWER);

      const requests = modelRequests(gw.fake.requests);
      expect(requests.map((r) => `${r.method} ${r.path}${r.search}`)).toEqual(requests.map(() => `POST /v1beta/models/${MODEL}:streamGenerateContent?alt=sse`));
      const withResult = requests.filter((r) => r.bodyText.includes('"functionResponse"'));
      expect(withResult.length, dump(run, gw)).toBe(1);
      expect(withResult[0]?.bodyText).toContain(SECRET);
      expectForwardedSafely(gw);

      const rows = await gw.stopAndReadLedger();
      expectRowsExact(rows, requests.length, { provider: "google-ai-studio", model: MODEL, endpoint: "stream_generate" }, USAGE, price);
      expect(providerKeysIn([run.stdout, run.stderr], home)).toEqual([]);
    } finally {
      await gw.close();
    }
  }, 90_000);

  // Event-boundary SSE forwarding: the half event is dropped and the gateway's error follows a clean boundary
  // (before it, Gemini CLI died with "SyntaxError: Unterminated string in JSON").
  it("a stream cut inside an event: Gemini CLI fails cleanly with an error, never a JSON parse error of a half event", async () => {
    const gw = await startServedGateway();
    try {
      const { home, project } = clientHome("gemini-cut", "secret.txt", `The secret word is ${SECRET}.\n`);
      gw.fake.setDefault({ text: ANSWER, chunks: 6, cutInsideEvent: { afterEvents: 3, bytes: 40 }, usage: USAGE });
      const run = await runGemini(gw, home, project);
      const shown = run.stdout + run.stderr;
      expect(shown, dump(run, gw)).not.toMatch(HALF_EVENT_PARSE_ERROR);
      expect(run.code, dump(run, gw)).not.toBe(0);
      expect(shown).toMatch(/error/i);
      expectForwardedSafely(gw);
      const rows = await gw.stopAndReadLedger();
      expect(rows).toHaveLength(modelRequests(gw.fake.requests).length);
      for (const row of rows) expect(row).toMatchObject({ provider: "google-ai-studio", model: MODEL, outcome: "upstream_failed" });
      expect(providerKeysIn([run.stdout, run.stderr], home)).toEqual([]);
    } finally {
      await gw.close();
    }
  }, 90_000);

  it("gatehouse setup gemini-cli <url>: the selectedType workaround in settings.json and the URL + token in ~/.gemini/.env (0600); the real gemini with nothing but HOME does a tool turn as the signed-in person; a re-run changes nothing", async () => {
    const gw = await startServedGateway();
    try {
      const { home, project } = clientHome("gemini-setup", "secret.txt", `The secret word is ${SECRET}.\n`);
      const settingsFile = join(home, ".gemini", "settings.json");
      const envFile = join(home, ".gemini", ".env");
      mkdirSync(join(home, ".gemini"), { recursive: true });
      writeFileSync(settingsFile, `${JSON.stringify({ ui: { hideTips: true }, ...GEMINI_OFFLINE_SETTINGS }, null, 2)}\n`);
      writeFileSync(envFile, "# mine\nMY_VAR=1\n");

      const setup = await runGatehouse(["setup", "gemini-cli", gw.url], home, "carol@example.com");
      expect(setup.code, setup.stderr).toBe(0);
      expect(setup.signedIn).toBe(true);
      expect(JSON.parse(readFileSync(settingsFile, "utf8"))).toEqual({ ui: { hideTips: true }, ...GEMINI_OFFLINE_SETTINGS, security: { auth: { selectedType: "gemini-api-key" } } });
      const token = (JSON.parse(readFileSync(join(home, ".config", "gatehouse", "tokens.json"), "utf8")) as Record<string, { token: string }>)[gw.url]?.token;
      expect(token?.split(".")).toHaveLength(3);
      expect(readFileSync(envFile, "utf8")).toBe(`# mine\nMY_VAR=1\nGOOGLE_GEMINI_BASE_URL="${gw.url}/google-ai-studio"\nGEMINI_API_KEY="${token ?? ""}"\n`);
      expect(statSync(envFile).mode & 0o777).toBe(0o600);
      const backups = () => readdirSync(join(home, ".gemini")).filter((f) => f.includes(".bak-"));
      expect(backups()).toHaveLength(2);

      const before = [readFileSync(settingsFile, "utf8"), readFileSync(envFile, "utf8")];
      const again = await runGatehouse(["setup", "gemini-cli", gw.url], home);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr.match(/already set up; nothing changed/g)).toHaveLength(2);
      expect([readFileSync(settingsFile, "utf8"), readFileSync(envFile, "utf8")]).toEqual(before);
      expect(backups()).toHaveLength(2);

      gw.fake.setDefault({ toolCall: { name: "read_file", arguments: { file_path: "secret.txt" } }, text: ANSWER, usage: USAGE });
      // No GEMINI_* variable: Gemini CLI reads ~/.gemini/.env and settings.json itself.
      const run = await runClient(process.execPath, [GEMINI, "-p", "Read secret.txt and tell me the secret word.", "-m", MODEL], { env: geminiEnv(home), cwd: project });
      expect(run.code, dump(run, gw)).toBe(0);
      expect(run.stdout).toContain(ANSWER);
      const requests = modelRequests(gw.fake.requests);
      expect(requests.filter((r) => r.bodyText.includes('"functionResponse"') && r.bodyText.includes(SECRET))).toHaveLength(1);
      expectForwardedSafely(gw);
      for (const request of gw.fake.requests) expect(JSON.stringify(request.headers)).not.toContain(token);
      const rows = await gw.stopAndReadLedger();
      expect(rows).toHaveLength(requests.length);
      for (const row of rows) expect(row).toMatchObject({ caller_email: "carol@example.com", provider: "google-ai-studio", model: MODEL, status: 200, outcome: "completed", input_tokens: USAGE.input, output_tokens: USAGE.output });
      expect(providerKeysIn([setup.stdout, setup.stderr, run.stdout, run.stderr], home)).toEqual([]);
    } finally {
      await gw.close();
    }
  }, 120_000);
});
