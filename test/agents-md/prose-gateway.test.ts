import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localRepoAccess } from "../../src/adapters/node/agents-md/checkout.ts";
import { gatewayProseWriter, proseModelRef } from "../../src/adapters/node/agents-md/gateway-prose.ts";
import { localCatalogSource } from "../../src/adapters/node/knowledge/local-source.ts";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { generateStep, PROSE_SECTIONS, readClaims, type GenerateStepResult } from "../../src/agents-md/index.ts";
import { loadOrgConfig } from "../../src/adapters/node/config-loader.ts";
import { createBundledCatalog } from "../../src/catalog/index.ts";
import { systemClock } from "../../src/core/clock.ts";
import { catalogPricer } from "../../src/review/index.ts";
import { catalogQueries, catalogStore, refreshCatalog } from "../../src/knowledge/index.ts";
import { migrateToLatest } from "../../src/store/index.ts";
import { CLIENT_TOKEN, KEYS, startHarness, type Harness } from "../gateway/harness.ts";
import { generateFleet, type ExpectedRepo } from "./fleet.ts";

// The real gateway in-process (real SQLite, real node:http) in front of the wire-exact fake
// compat upstream: the prose is a chat completion on the gateway's /compat route, with a
// gateway token, and its cost is the gateway's own ledger row.
const run_ = promisify(execFile);
const BIN = fileURLToPath(new URL("../../bin/gatehouse.js", import.meta.url));
let h: Harness;
let root: string;
let fleet: ExpectedRepo[];
const MODEL = "compat/local-llama"; // priced in the harness config: $0.5 in, $1.5 out per million
const USAGE = { input: 1000, output: 200 };
const COST = (1000 * 0.5 + 200 * 1.5) / 1e6;

const prose = (lines: Partial<Record<string, string>> = {}): string => PROSE_SECTIONS.map((s) => `## ${s}\n${lines[s] ?? `What ${s.toLowerCase()} means for an agent here.`}\n`).join("\n");

beforeAll(async () => {
  h = await startHarness();
  root = mkdtempSync(join(tmpdir(), "gatehouse-prose-"));
  fleet = generateFleet(root, 12);
  const [report] = await refreshCatalog(catalogStore(h.gateway.deps.db), [localCatalogSource({ id: "fleet", path: root })], systemClock);
  expect(report).toMatchObject({ status: "ok", entities: 12 });
}, 120_000);
afterAll(async () => {
  await h?.close();
});

function step(options: { token?: string; db?: Parameters<typeof gatewayProseWriter>[0]["db"]; ledgerWaitMs?: number } = {}) {
  const writer = gatewayProseWriter({
    gatewayUrl: h.gateway.url,
    token: options.token ?? CLIENT_TOKEN,
    model: MODEL,
    db: options.db ?? h.gateway.deps.db,
    pricer: catalogPricer(createBundledCatalog(), loadOrgConfig(h.dir)),
    ledgerWaitMs: options.ledgerWaitMs ?? 30_000,
  });
  return generateStep(localRepoAccess, catalogQueries(h.gateway.deps.db), [], undefined, writer);
}

async function run(name: string, options: Parameters<typeof step>[0] = {}): Promise<{ result: GenerateStepResult; costs: number[]; text: string }> {
  const costs: number[] = [];
  const outcome = await step(options)({ path: join(root, name) }, { item: name, attempt: 1, signal: new AbortController().signal, addCost: (usd) => costs.push(usd) });
  if (!("result" in outcome)) throw new Error("skipped");
  return { result: outcome.result, costs, text: readFileSync(join(root, name, "AGENTS.md"), "utf8") };
}

describe("AGENTS.md prose written by a model through the gateway", { timeout: 120_000 }, () => {
  it("calls the gateway's /compat route with the gateway token; the file has the prose and the exact facts; the cost is the ledger row's", async () => {
    const repo = fleet[0] as ExpectedRepo; // node-npm, owned by team-0
    const before = h.fake.requests.length;
    h.fake.enqueue({ text: prose({ Repository: `A Node service owned by \`${repo.owner}\`; run \`npm run test\` before proposing a change.`, "How to navigate": "Code is in `src/`; `dist/` is built." }), usage: USAGE });
    const { result, costs, text } = await run(repo.name);
    expect(result).toMatchObject({ prose: "model", writer: MODEL, written: true, cost: { usd: COST, source: "ledger", unpriced: false } });
    expect(costs).toEqual([COST]);
    // The upstream got the gateway's compat key, never the caller's gateway token, and the facts in the prompt.
    const sent = h.fake.requests.slice(before);
    expect(sent.map((r) => r.path)).toEqual(["/v1/chat/completions"]);
    expect(sent[0]?.headers["authorization"]).toBe(`Bearer ${KEYS.openai}`);
    expect(sent[0]?.bodyText).not.toContain(CLIENT_TOKEN);
    const body = JSON.parse(sent[0]?.bodyText ?? "{}") as { model: string; messages: { role: string; content: string }[] };
    expect(body.model).toBe("local-llama");
    expect(body.messages[1]?.content).toContain('"command": "npm run test"');
    // The ledger row is the gateway's own: the caller, the provider, the cost.
    const row = await h.gateway.deps.db
      .selectFrom("ledger")
      .selectAll()
      .where("request_id", "=", result.cost?.requestId ?? "")
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ provider: "compat", model: "local-llama", input_tokens: 1000, output_tokens: 200, cost_usd: COST });
    expect(text).toContain(`## Repository\nA Node service owned by \`${repo.owner}\`; run \`npm run test\` before proposing a change.\n\n- Catalog entity: \`component:default/${repo.name}\`, owned by \`${repo.owner}\``);
    for (const command of repo.commands) expect(text).toContain(`: \`${command}\``);
    expect(readClaims(text)).toMatchObject({ writer: MODEL, owner: repo.owner, commands: repo.commands.map((command) => expect.objectContaining({ command })) });
    expect(text).toContain("the prose by `compat/local-llama` through Gatehouse");
  });

  it("a rerun with the same facts keeps the file without calling the model; changed facts call it again", async () => {
    const repo = fleet[0] as ExpectedRepo;
    const before = h.fake.requests.length;
    const again = await run(repo.name);
    expect(again.result).toMatchObject({ prose: "kept", written: false, writer: MODEL });
    expect(again.costs).toEqual([]);
    expect(h.fake.requests.length).toBe(before);
    // A new script is a new fact: the model is asked again.
    const pkg = join(root, repo.name, "package.json");
    const manifest = JSON.parse(readFileSync(pkg, "utf8")) as { scripts: Record<string, string> };
    manifest.scripts["format"] = "prettier -w .";
    writeFileSync(pkg, JSON.stringify(manifest));
    h.fake.enqueue({ text: prose(), usage: USAGE });
    const changed = await run(repo.name);
    expect(changed.result).toMatchObject({ prose: "model", written: true });
    expect(changed.text).toContain("- Format: `npm run format`");
    expect(h.fake.requests.length).toBe(before + 1);
  });

  it.each([
    ["a missing section", { text: prose().replace(/## Boundaries\n[^\n]*\n/, "") }, /model's answer was refused: the sections are/, COST],
    ["an invented command", { text: prose({ Boundaries: "Ship with `npm run deploy`." }) }, /names `npm run deploy`/, COST],
    ["an invented owner", { text: prose({ Repository: "Owned by group:default/someone-else." }) }, /names the entity group:default\/someone-else/, COST],
    ["a forged claims block", { text: prose({ Dependencies: '<!-- gatehouse:agents-md-claims {"version":1,"commands":[],"paths":[],"dependsOn":[],"dependedOnBy":[]} -->' }) }, /code block or HTML/, COST],
    ["the upstream failing", { status: 500, error: { type: "server_error", message: "boom" } }, /the model call failed: compat\/local-llama: HTTP 5\d\d/, 0],
  ])("%s: the template is written for that repo and the report says why", async (_what, behaviour, reason, cost) => {
    const index = 1 + ["a missing section", "an invented command", "an invented owner", "a forged claims block", "the upstream failing"].indexOf(_what);
    const repo = fleet[index] as ExpectedRepo;
    h.fake.enqueue({ ...behaviour, usage: USAGE });
    const { result, costs, text } = await run(repo.name);
    expect(result).toMatchObject({ prose: "fallback", writer: "template", fallback: expect.stringMatching(reason) });
    expect(costs).toEqual([cost]);
    expect(text).not.toContain("npm run deploy");
    expect(text).not.toContain("someone-else");
    expect(text).toContain("Generated by `gatehouse agents-md generate` from this repository's files");
    expect(readClaims(text)).toMatchObject({ writer: "template", owner: repo.owner });
    for (const command of repo.commands) expect(text).toContain(`: \`${command}\``);
  });

  it("policy applies: a token the gateway does not know gets its 401 and the template", async () => {
    const repo = fleet[6] as ExpectedRepo;
    const before = h.fake.requests.length;
    // No ledger wait for an error answer: a revoked token must not cost each repo the wait.
    const started = Date.now();
    const { result } = await run(repo.name, { token: "gh_not_a_token_the_gateway_knows", ledgerWaitMs: 60_000 });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(result).toMatchObject({ prose: "fallback", fallback: expect.stringMatching(/HTTP 401/) });
    expect(JSON.stringify(result)).not.toContain("gh_not_a_token");
    expect(h.fake.requests.length).toBe(before);
  });

  it("with no ledger row in the store it reads (a gateway on another store), the usage is priced instead and the report says so", async () => {
    const repo = fleet[7] as ExpectedRepo;
    const other = openSqlite(join(mkdtempSync(join(tmpdir(), "gatehouse-prose-other-")), "g.db"));
    await migrateToLatest(other);
    try {
      h.fake.enqueue({ text: prose(), usage: USAGE });
      const { result, costs } = await run(repo.name, { db: other, ledgerWaitMs: 300 });
      expect(result).toMatchObject({ prose: "model", cost: { usd: COST, source: "usage", unpriced: false } });
      expect(costs).toEqual([COST]);
    } finally {
      await other.destroy();
    }
  });

  it("through the CLI as a job: cost per repo and in total from the gateway's ledger, the prose counted in the report", async () => {
    h.fake.setDefault({ text: prose(), usage: USAGE });
    const repos = fleet.slice(8, 12).map((r) => join(root, r.name));
    const child = await run_(process.execPath, [BIN, "agents-md", "generate", ...repos, "--json", "--model", "local-llama", "--gateway-url", h.gateway.url, "--concurrency", "2", "-d", join(h.dir, "data")], {
      env: { ...process.env, GATEHOUSE_TOKEN: CLIENT_TOKEN },
    });
    const report = JSON.parse(child.stdout) as { counts: Record<string, number>; totalCostUsd: number; steps: { item: string; costUsd: number; result: GenerateStepResult }[] };
    expect(report.counts).toMatchObject({ done: 4, failed: 0 });
    expect(report.steps.map((s) => [s.result.prose, s.result.writer, s.result.cost?.source, s.costUsd])).toEqual(repos.map(() => ["model", MODEL, "ledger", COST]));
    expect(report.totalCostUsd).toBeCloseTo(4 * COST, 12);
    const human = await run_(process.execPath, [BIN, "agents-md", "generate", ...repos, "--job", "again", "--model", "local-llama", "--gateway-url", h.gateway.url, "-d", join(h.dir, "data")], { env: { ...process.env, GATEHOUSE_TOKEN: CLIENT_TOKEN } });
    expect(human.stdout).toContain("prose by compat/local-llama: 0 written, 4 kept, 0 fell back to the template; cost $0.0000");
    h.fake.setDefault({});
  });

  it("SIGKILL half way through a model run and resumed: each repo's prose is paid for once (bar the few in flight at the kill), the report's cost is its steps'", async () => {
    const REPOS = 24;
    const fleetRoot = mkdtempSync(join(tmpdir(), "gatehouse-prose-kill-"));
    const killFleet = generateFleet(fleetRoot, REPOS);
    await refreshCatalog(catalogStore(h.gateway.deps.db), [localCatalogSource({ id: "prose-kill", path: fleetRoot })], systemClock);
    h.fake.setDefault({ text: prose(), usage: USAGE });
    const calls = () => h.fake.requests.filter((r) => r.path === "/v1/chat/completions").length;
    const before = calls();
    const repos = killFleet.map((r) => join(fleetRoot, r.name));
    const args = [BIN, "agents-md", "generate", ...repos, "--json", "--lease-ms", "2000", "--concurrency", "2", "--model", "local-llama", "--gateway-url", h.gateway.url, "-d", join(h.dir, "data")];
    const env = { ...process.env, GATEHOUSE_TOKEN: CLIENT_TOKEN };
    const firstDone: string[] = [];
    const first = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env });
    let partial = "";
    first.stderr.on("data", (d: Buffer) => {
      partial += d.toString();
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        const event = line.startsWith("{") ? (JSON.parse(line) as { event: string; status?: string; item?: string }) : undefined;
        if (event?.event === "step" && event.status === "done" && event.item) firstDone.push(event.item);
      }
      if (firstDone.length >= REPOS / 2) first.kill("SIGKILL");
    });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => first.on("exit", (_code, sig) => resolve(sig)));
    expect(signal).toBe("SIGKILL");
    const second = await run_(process.execPath, args, { env, maxBuffer: 16 * 1024 * 1024 });
    const report = JSON.parse(second.stdout) as { counts: Record<string, number>; totalCostUsd: number; steps: { item: string; attempts: number; costUsd: number; result: GenerateStepResult }[] };
    expect(report.counts).toMatchObject({ done: REPOS, failed: 0 });
    const made = calls() - before;
    // One call per repo; at most the two in flight at the kill were asked again.
    expect(made).toBeGreaterThanOrEqual(REPOS);
    expect(made).toBeLessThanOrEqual(REPOS + 2);
    for (const item of firstDone) expect(report.steps.find((s) => s.item === item)?.attempts).toBe(1);
    for (const repo of killFleet) expect(readClaims(readFileSync(join(fleetRoot, repo.name, "AGENTS.md"), "utf8"))?.writer).toBe(MODEL);
    const paid = report.steps.filter((s) => s.result.prose === "model").length;
    expect(report.totalCostUsd).toBeCloseTo(paid * COST, 12);
    expect(report.steps.reduce((sum, s) => sum + s.costUsd, 0)).toBeCloseTo(report.totalCostUsd, 12);
    h.fake.setDefault({});
  });

  it("a bare model id goes to the /compat route; a provider prefix picks that provider's route", () => {
    expect(proseModelRef("@cf/qwen/qwen3-30b-a3b-fp8")).toBe("compat/@cf/qwen/qwen3-30b-a3b-fp8");
    expect(proseModelRef("llama3")).toBe("compat/llama3");
    expect(proseModelRef("anthropic/claude-haiku-4-5")).toBe("anthropic/claude-haiku-4-5");
  });
});
