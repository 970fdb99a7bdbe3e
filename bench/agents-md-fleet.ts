/**
 * The issue-14 fleet run at full size: 2,000 generated repos of mixed stacks, `gatehouse
 * agents-md generate --catalog --github-owner acme` against the fake GitHub as a real child
 * process, SIGKILL once half are done, resumed; every check of test/agents-md/fleet-kill.test.ts
 * (which runs 300 in the suite). `node --import tsx bench/agents-md-fleet.ts [--repos N] [--concurrency N]`.
 */
import { cpus, loadavg } from "node:os";
import { runFleetWithKill, verifyFleetRun } from "../test/agents-md/fleet-pr-run.ts";

const HELP = `Usage: node --import tsx bench/agents-md-fleet.ts [--repos N] [--concurrency N]
  --repos N        fleet size (default 2000, at most 20000)
  --concurrency N  repos at once in the generate run (default 4)
Prints the time of each phase, the requests the fake GitHub answered, and every check's outcome;
exits 1 when a check fails.`;

function flag(name: string, fallback: number, max: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`${name} must be an integer from 1 to ${max}`);
  return value;
}

if (process.argv.includes("--help")) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const repos = flag("--repos", 2000, 20_000);
const concurrency = flag("--concurrency", 4, 64);
const started = performance.now();
const run = await runFleetWithKill(repos, { concurrency });
const totalMs = performance.now() - started;
const problems = verifyFleetRun(run);
const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const lines = [
  `fleet: ${repos} repos, concurrency ${concurrency}, ${cpus().length} cores, load average ${loadavg()[0]?.toFixed(1)} at the end`,
  `generate the fixture: ${s(run.timings.generateFleetMs)}; catalog refresh: ${s(run.timings.refreshMs)}`,
  `first run until SIGKILL: ${s(run.timings.firstRunMs)} (${run.firstDone.length} done); resumed run: ${s(run.timings.secondRunMs)} (${run.secondDone.length} done)`,
  `GitHub requests: ${run.github.requests.length} (${(run.github.requests.length / repos).toFixed(1)} per repo), ${run.github.pullsCreated} PRs created`,
  `total wall clock: ${s(totalMs)}`,
  problems.length === 0 ? "checks: all passed (one PR and one commit per repo, no finished step redone, report matches, detection exact)" : `checks: ${problems.length} FAILED\n${problems.slice(0, 20).join("\n")}`,
];
process.stdout.write(`${lines.join("\n")}\n`);
await run.close();
process.exit(problems.length === 0 ? 0 : 1);
