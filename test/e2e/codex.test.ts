import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { snapshotCost } from "../gateway/harness.ts";
import type { Behaviour } from "../fake-upstream/types.ts";
import { CODEX, CODEX_OFFLINE_TABLES, CODEX_OFFLINE_TOP, codexEnv, HALF_EVENT_PARSE_ERROR } from "./clients.ts";
import { runGatehouse } from "./setup-harness.ts";
import { clientHome, DEV_TOKEN, modelRequests, PROVIDER_KEYS, providerKeysIn, runClient, startServedGateway, type ClientRun, type LedgerRow, type ServedGateway } from "./served-gateway.ts";

const MODEL = "gpt-5";
const USAGE = { input: 1000, output: 50 };
const SECRET = "PINEAPPLE-77";
const ANSWER = `The secret word is ${SECRET}, says Codex through Gatehouse.`;
const price = snapshotCost("openai", MODEL);
const dump = (run: ClientRun, gw: ServedGateway) => `codex exit ${String(run.code)} in ${run.ms} ms\nstdout: ${run.stdout}\nstderr: ${run.stderr}\nfake saw: ${gw.fake.requests.map((r) => `${r.method} ${r.path}`).join(", ")}\ngateway: ${gw.output()}`;

type Transport = "websocket" | "http";

/**
 * `codex exec` two ways: the built-in openai provider (Responses over WebSocket, its default)
 * with `openai_base_url` at the gateway and the token as CODEX_API_KEY (codex exec ignores
 * OPENAI_API_KEY and the OPENAI_BASE_URL variable in 0.171), or a custom provider in
 * config.toml, which speaks HTTP (SSE) and reads the token from env_key.
 */
async function runCodex(gw: ServedGateway, home: string, project: string, transport: Transport): Promise<ClientRun> {
  mkdirSync(join(home, ".codex"), { recursive: true });
  const config =
    transport === "websocket"
      ? `${CODEX_OFFLINE_TOP}openai_base_url = "${gw.url}/openai/v1"\n\n${CODEX_OFFLINE_TABLES}`
      : `${CODEX_OFFLINE_TOP}model_provider = "gatehouse"\n\n${CODEX_OFFLINE_TABLES}\n[model_providers.gatehouse]\nname = "Gatehouse"\nbase_url = "${gw.url}/openai/v1"\nenv_key = "GATEHOUSE_TOKEN"\nwire_api = "responses"\nrequest_max_retries = 1\nstream_max_retries = 1\n`;
  writeFileSync(join(home, ".codex", "config.toml"), config);
  const env = codexEnv(home, transport === "websocket" ? { CODEX_API_KEY: DEV_TOKEN } : { GATEHOUSE_TOKEN: DEV_TOKEN });
  return runClient(CODEX, ["exec", "--skip-git-repo-check", "-m", MODEL, "Read secret.txt and tell me the secret word."], { env, cwd: project });
}

function expectForwardedSafely(gw: ServedGateway): void {
  for (const request of gw.fake.requests) {
    // WebSocket client events carry no headers of their own; the handshake carried the key.
    if (request.method === "WS") continue;
    expect(request.headers["authorization"]).toBe(`Bearer ${PROVIDER_KEYS.openai}`);
  }
  for (const request of gw.fake.requests) expect(JSON.stringify(request.headers) + request.bodyText).not.toContain(DEV_TOKEN);
}

function expectRow(row: LedgerRow | undefined, tokens: { input: number; output: number }): void {
  expect(row).toMatchObject({ provider: "openai", model: MODEL, endpoint: "responses", streamed: 1, status: 200, outcome: "completed", input_tokens: tokens.input, output_tokens: tokens.output, unpriced: 0 });
  expect(row?.cost_usd).toBeCloseTo((tokens.input * price.input + tokens.output * price.output) / 1e6, 12);
}

async function toolTurn(transport: Transport): Promise<void> {
  const gw = await startServedGateway();
  try {
    const { home, project } = clientHome(`codex-${transport}`, "secret.txt", `The secret word is ${SECRET}.\n`);
    const behaviour: Behaviour = { toolCall: { name: "exec_command", arguments: { cmd: "cat secret.txt" } }, text: ANSWER, usage: USAGE };
    gw.fake.setDefault(behaviour);
    const run = await runCodex(gw, home, project, transport);
    expect(run.code, dump(run, gw)).toBe(0);
    expect(run.stdout).toContain(ANSWER);
    expect(run.stderr, "no fallback, no retry").not.toMatch(/Falling back|Reconnecting/);

    const handshakes = gw.fake.requests.filter((r) => r.method === "GET");
    const creates = gw.fake.requests.filter((r) => r.method === "WS");
    const posts = gw.fake.requests.filter((r) => r.method === "POST");
    if (transport === "websocket") {
      expect(handshakes.length, dump(run, gw)).toBe(1);
      expect(handshakes[0]?.headers["upgrade"]).toBe("websocket");
      expect(posts, "no fallback to HTTP").toEqual([]);
    } else {
      expect(handshakes.concat(creates), "a custom provider speaks HTTP").toEqual([]);
    }
    const requests = modelRequests(gw.fake.requests);
    // The command ran: its output (the file's content) came back as a function_call_output.
    const withResult = requests.filter((r) => r.bodyText.includes('"function_call_output"'));
    expect(withResult.length, dump(run, gw)).toBe(1);
    expect(withResult[0]?.bodyText).toContain(SECRET);
    expectForwardedSafely(gw);

    const rows = await gw.stopAndReadLedger();
    expect(rows, "one ledger row per response the provider made, no 404 or fallback rows").toHaveLength(requests.length);
    for (const [index, row] of rows.entries()) {
      // Over WebSocket, Codex first warms the connection up (generate: false): a response with no tokens.
      const warmUp = transport === "websocket" && (JSON.parse(requests[index]?.bodyText ?? "{}") as { generate?: boolean }).generate === false;
      expectRow(row, warmUp ? { input: 0, output: 0 } : USAGE);
    }
    expect(providerKeysIn([run.stdout, run.stderr], home)).toEqual([]);
  } finally {
    await gw.close();
  }
}

describe("Codex CLI (codex exec, real 0.171.0 binary) through gatehouse serve", () => {
  it("built-in openai provider over the Responses WebSocket: one exec_command tool turn, no HTTP fallback, ledger exact (a row per response)", () => toolTurn("websocket"), 90_000);

  it("custom HTTP provider from config.toml (env_key, wire_api = responses): one tool turn over SSE, ledger exact", () => toolTurn("http"), 90_000);

  it("a stream cut inside an event: Codex (custom HTTP provider) fails cleanly with an error, no parse error of a half event", async () => {
    const gw = await startServedGateway();
    try {
      const { home, project } = clientHome("codex-cut", "secret.txt", `The secret word is ${SECRET}.\n`);
      gw.fake.setDefault({ text: ANSWER, chunks: 6, cutInsideEvent: { afterEvents: 5, bytes: 40 }, usage: USAGE });
      const run = await runCodex(gw, home, project, "http");
      const shown = run.stdout + run.stderr;
      expect(run.code, dump(run, gw)).not.toBe(0);
      expect(shown, dump(run, gw)).toMatch(/ERROR/);
      expect(shown, dump(run, gw)).not.toMatch(HALF_EVENT_PARSE_ERROR);
      expect(run.stdout).not.toContain(ANSWER);
      expectForwardedSafely(gw);
      const requests = modelRequests(gw.fake.requests);
      // request_max_retries / stream_max_retries = 1: the first try and one retry.
      expect(requests.length, dump(run, gw)).toBe(2);
      const rows = await gw.stopAndReadLedger();
      expect(rows).toHaveLength(requests.length);
      for (const row of rows) expect(row).toMatchObject({ provider: "openai", model: MODEL, endpoint: "responses", outcome: "upstream_failed" });
      expect(providerKeysIn([run.stdout, run.stderr], home)).toEqual([]);
    } finally {
      await gw.close();
    }
  }, 90_000);

  it("gatehouse setup codex <url>: merges config.toml (backup kept), signs in once; the real codex with nothing but HOME does a tool turn over the WebSocket with the auth command's token; a re-run changes nothing", async () => {
    const gw = await startServedGateway();
    try {
      const { home, project } = clientHome("codex-setup", "secret.txt", `The secret word is ${SECRET}.\n`);
      const configFile = join(home, ".codex", "config.toml");
      mkdirSync(join(home, ".codex"), { recursive: true });
      const mine = `# my settings\napproval_policy = "never"\n${CODEX_OFFLINE_TOP}\n[tui]\nnotifications = false\n\n${CODEX_OFFLINE_TABLES}`;
      writeFileSync(configFile, mine);

      const setup = await runGatehouse(["setup", "codex", gw.url], home, "bob@example.com");
      expect(setup.code, setup.stderr).toBe(0);
      expect(setup.signedIn).toBe(true);
      const config = readFileSync(configFile, "utf8");
      expect(config.startsWith(`# my settings\napproval_policy = "never"\n${CODEX_OFFLINE_TOP}model_provider = "gatehouse"\n\n[tui]\nnotifications = false\n\n${CODEX_OFFLINE_TABLES}\n[model_providers.gatehouse]\n`)).toBe(true);
      expect(config).toContain(`base_url = "${gw.url}/openai/v1"`);
      expect(config).toContain(`"login", "--print-token", "${gw.url}"]`);
      const backups = () => readdirSync(join(home, ".codex")).filter((f) => f.startsWith("config.toml.bak-"));
      expect(backups()).toHaveLength(1);

      const again = await runGatehouse(["setup", "codex", gw.url], home);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain("already set up; nothing changed");
      expect(readFileSync(configFile, "utf8")).toBe(config);
      expect(backups()).toHaveLength(1);

      gw.fake.setDefault({ toolCall: { name: "exec_command", arguments: { cmd: "cat secret.txt" } }, text: ANSWER, usage: USAGE });
      // No key variable at all: the token comes from the auth command setup wrote.
      const run = await runClient(CODEX, ["exec", "--skip-git-repo-check", "-m", MODEL, "Read secret.txt and tell me the secret word."], { env: codexEnv(home), cwd: project });
      expect(run.code, dump(run, gw)).toBe(0);
      expect(run.stdout).toContain(ANSWER);
      expect(run.stderr).not.toMatch(/Falling back|Reconnecting/);
      // A custom provider also lists the gateway's models (GET /v1/models) before the turn.
      const gets = gw.fake.requests.filter((r) => r.method === "GET").map((r) => `${r.path} ${r.headers["upgrade"] ?? ""}`.trim());
      expect(
        gets.filter((g) => g !== "/v1/models"),
        "the gatehouse provider speaks the Responses WebSocket",
      ).toEqual(["/v1/responses websocket"]);
      expect(gw.fake.requests.filter((r) => r.method === "POST")).toEqual([]);
      const requests = modelRequests(gw.fake.requests);
      expect(requests.filter((r) => r.bodyText.includes('"function_call_output"') && r.bodyText.includes(SECRET))).toHaveLength(1);
      expectForwardedSafely(gw);
      const rows = await gw.stopAndReadLedger();
      // Every row is a request the provider answered: the model lists (no tokens, no cost) and one per response.
      const lists = rows.filter((r) => r.endpoint === "models.list");
      expect(lists).toHaveLength(gets.filter((g) => g === "/v1/models").length);
      for (const row of lists) expect(row).toMatchObject({ caller_email: "bob@example.com", status: 200, input_tokens: 0, output_tokens: 0, cost_usd: 0 });
      const responses = rows.filter((r) => r.endpoint === "responses");
      expect(responses.length + lists.length, "no other rows (no 404s, no fallback)").toBe(rows.length);
      expect(responses).toHaveLength(requests.length);
      for (const row of responses) expect(row).toMatchObject({ caller_email: "bob@example.com", provider: "openai", model: MODEL, status: 200, outcome: "completed" });
      expect(providerKeysIn([setup.stdout, setup.stderr, run.stdout, run.stderr], home)).toEqual([]);
    } finally {
      await gw.close();
    }
  }, 120_000);
});
