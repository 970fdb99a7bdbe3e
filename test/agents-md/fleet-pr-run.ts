import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { localCatalogSource } from "../../src/adapters/node/knowledge/local-source.ts";
import { openStore } from "../../src/adapters/node/store.ts";
import { AGENTS_MD_BRANCH, readClaims } from "../../src/agents-md/index.ts";
import { systemClock } from "../../src/core/clock.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { catalogStore, refreshCatalog } from "../../src/knowledge/index.ts";
import { FakeGitHub } from "./fake-github.ts";
import { generateFleet, type ExpectedRepo } from "./fleet.ts";

/**
 * The fleet scenario of issue 14, shared by test/agents-md/fleet-kill.test.ts (300 repos) and
 * bench/agents-md-fleet.ts (2,000): a generated fleet of mixed stacks with catalog-info.yaml,
 * its catalog refreshed into a real SQLite store, then `gatehouse agents-md generate --catalog
 * --github-owner acme` as a real child process against the fake GitHub, SIGKILLed once half
 * the repos are done, and run again to resume. `verifyFleetRun` lists every way the outcome is
 * wrong (an empty list: every repo has exactly one PR and one commit, no step done before the
 * kill ran again, the report matches, the file's claims are the fixture's expected detection).
 */
const BIN = fileURLToPath(new URL("../../bin/gatehouse.js", import.meta.url));
const TOKEN = "ghp_fleetTokenForTests0123456789ab";

interface StepLine {
  event: string;
  item?: string;
  status?: string;
}

export interface FleetReport {
  counts: Record<string, number>;
  totalCostUsd: number;
  steps: { item: string; status: string; attempts: number; result?: { pr?: { number: number; action: string }; ref?: string } }[];
}

export interface FleetRun {
  repos: number;
  root: string;
  fleet: ExpectedRepo[];
  github: FakeGitHub;
  firstDone: string[];
  secondDone: string[];
  firstSignal: NodeJS.Signals | null;
  secondCode: number | null;
  /** Requests the fake got after the kill, `METHOD /path`. */
  requestsAfterKill: string[];
  report: FleetReport | undefined;
  timings: { generateFleetMs: number; refreshMs: number; firstRunMs: number; secondRunMs: number };
  close(): Promise<void>;
}

function generate(dataDir: string, apiUrl: string, concurrency: number, onLine: (line: StepLine) => void): { kill(): void; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> } {
  const child = spawn(process.execPath, [BIN, "agents-md", "generate", "--catalog", "--json", "--lease-ms", "2000", "--concurrency", String(concurrency), "--github-owner", "acme", "--github-api-url", apiUrl, "-d", dataDir], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, GITHUB_TOKEN: TOKEN },
  });
  let stdout = "";
  let partial = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => {
    partial += d.toString();
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line.startsWith("{")) onLine(JSON.parse(line) as StepLine);
  });
  return { kill: () => child.kill("SIGKILL"), exit: new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stdout }))) };
}

export async function runFleetWithKill(repos: number, options: { concurrency?: number } = {}): Promise<FleetRun> {
  const concurrency = options.concurrency ?? 4;
  const root = mkdtempSync(join(tmpdir(), "gatehouse-fleet-run-"));
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-fleet-run-data-"));
  let t = performance.now();
  const fleet = generateFleet(root, repos);
  const generateFleetMs = performance.now() - t;
  t = performance.now();
  const db = await openStore(parseSettings({}, { dataDir }));
  try {
    const [refresh] = await refreshCatalog(catalogStore(db), [localCatalogSource({ id: "fleet", path: root })], systemClock);
    if (refresh?.status !== "ok" || refresh.entities !== repos) throw new Error(`catalog refresh: ${JSON.stringify(refresh)}`);
  } finally {
    await db.destroy();
  }
  const refreshMs = performance.now() - t;
  const github = new FakeGitHub(TOKEN);
  for (const repo of fleet) github.addRepo(`acme/${repo.name}`);
  const apiUrl = await github.start();

  const firstDone: string[] = [];
  let killedAt: number | undefined;
  t = performance.now();
  const first = generate(dataDir, apiUrl, concurrency, (line) => {
    if (line.event === "step" && line.status === "done" && line.item) firstDone.push(line.item);
    if (killedAt === undefined && firstDone.length >= repos / 2) {
      killedAt = github.requests.length;
      first.kill();
    }
  });
  const firstExit = await first.exit;
  const firstRunMs = performance.now() - t;
  const requestsAtKill = killedAt ?? github.requests.length;

  const secondDone: string[] = [];
  t = performance.now();
  const second = generate(dataDir, apiUrl, concurrency, (line) => {
    if (line.event === "step" && line.status === "done" && line.item) secondDone.push(line.item);
  });
  const secondExit = await second.exit;
  const secondRunMs = performance.now() - t;
  let report: FleetReport | undefined;
  try {
    report = JSON.parse(secondExit.stdout) as FleetReport;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    report = undefined;
  }
  return {
    repos,
    root,
    fleet,
    github,
    firstDone,
    secondDone,
    firstSignal: firstExit.signal,
    secondCode: secondExit.code,
    requestsAfterKill: github.requests.slice(requestsAtKill),
    report,
    timings: { generateFleetMs, refreshMs, firstRunMs, secondRunMs },
    close: () => github.close(),
  };
}

/** Every way the run is wrong; empty when it is right. */
export function verifyFleetRun(run: FleetRun): string[] {
  const problems: string[] = [];
  const expect = (ok: boolean, message: string): void => void (ok || problems.push(message));
  const items = run.fleet.map((r) => join(run.root, r.name)).sort();
  expect(run.firstSignal === "SIGKILL", `the first run was not killed (signal ${String(run.firstSignal)})`);
  expect(run.firstDone.length >= run.repos / 2 && run.firstDone.length < run.repos, `the first run finished ${run.firstDone.length} of ${run.repos} before the kill`);
  expect(run.secondCode === 0, `the resumed run exited ${String(run.secondCode)}`);
  const finished = new Set(run.firstDone);
  const redone = run.secondDone.filter((item) => finished.has(item));
  expect(redone.length === 0, `steps done before the kill ran again: ${redone.slice(0, 5).join(", ")}`);
  // Nothing the resumed run sent names a repo whose step had finished before the kill.
  const finishedNames = new Set(run.firstDone.map((item) => item.split("/").pop() ?? ""));
  const touched = run.requestsAfterKill.filter((request) => finishedNames.has(/^\S+ \/repos\/acme\/([^/]+)/.exec(request)?.[1] ?? ""));
  expect(touched.length === 0, `the resumed run called GitHub for finished repos: ${touched.slice(0, 3).join(", ")}`);
  const all = [...run.firstDone, ...run.secondDone].sort();
  expect(JSON.stringify(all) === JSON.stringify(items), `done events: ${all.length} for ${items.length} repos, duplicates or gaps`);
  expect(run.github.pullsCreated === run.repos, `${run.github.pullsCreated} PRs created for ${run.repos} repos`);
  const report = run.report;
  expect(report !== undefined, "the resumed run printed no JSON report");
  if (report) {
    expect(JSON.stringify(report.counts) === JSON.stringify({ pending: 0, running: 0, done: run.repos, failed: 0, skipped: 0 }), `report counts ${JSON.stringify(report.counts)}`);
    expect(JSON.stringify(report.steps.map((s) => s.item)) === JSON.stringify(items), "the report's steps are not the fleet");
    expect(report.totalCostUsd === 0, `template run cost ${report.totalCostUsd}`);
    for (const step of report.steps) {
      const name = step.item.split("/").pop() ?? "";
      const pulls = run.github.repos.get(`acme/${name}`)?.pulls ?? [];
      expect(step.result?.pr?.number === pulls[0]?.number, `${name}: the report says PR ${String(step.result?.pr?.number)}, GitHub has ${pulls.map((p) => p.number).join(",")}`);
      expect(step.attempts <= 2, `${name}: ${step.attempts} attempts`);
    }
  }
  for (const repo of run.fleet) {
    const state = run.github.repos.get(`acme/${repo.name}`);
    expect(state?.pulls.length === 1 && state.commits === 1, `${repo.name}: ${state?.pulls.length ?? 0} PRs, ${state?.commits ?? 0} commits`);
    const text = state?.files.get(AGENTS_MD_BRANCH)?.get("AGENTS.md")?.text;
    if (text === undefined) {
      problems.push(`${repo.name}: no AGENTS.md on ${AGENTS_MD_BRANCH}`);
      continue;
    }
    // Detection exact on every stack: the claims are the fixture's expectation, and so are the components and boundaries.
    const claims = readClaims(text);
    expect(JSON.stringify(claims?.commands.map((c) => c.command)) === JSON.stringify(repo.commands), `${repo.name} (${repo.variant}): commands ${JSON.stringify(claims?.commands.map((c) => c.command))}, expected ${JSON.stringify(repo.commands)}`);
    expect(claims?.owner === repo.owner, `${repo.name}: owner ${String(claims?.owner)}, expected ${repo.owner}`);
    expect(JSON.stringify(claims?.dependsOn) === JSON.stringify(repo.dependsOn), `${repo.name}: dependsOn ${JSON.stringify(claims?.dependsOn)}`);
    for (const component of repo.components) {
      const [path, stack, pm] = component.split(" ");
      const line = path === "." ? `${stack} with ${pm}` : `\`${path}/\`: ${stack} (${pm})`;
      expect(text.includes(line), `${repo.name} (${repo.variant}): no "${line}"`);
    }
    if (repo.generatedDirs.length > 0) expect(text.includes(`Generated, never edit by hand: ${repo.generatedDirs.map((d) => `\`${d}/\``).join(", ")}`), `${repo.name}: generated dirs`);
    if (repo.workspaces.length > 0) expect(text.includes(`Monorepo: workspaces ${repo.workspaces.map((w) => `\`${w}\``).join(", ")}`), `${repo.name}: workspaces`);
  }
  return problems;
}
