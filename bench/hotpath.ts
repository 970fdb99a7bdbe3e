/**
 * The hot path's CPU cost, repeated so the shared machine's noise can be seen: one upstream,
 * the bare proxy and one Gatehouse process, measured in turn for `--rounds` rounds (bare,
 * Gatehouse with a signed token, Gatehouse with the dev token), each a `--seconds` autocannon
 * phase at 64 connections. Prints every round, then min / median of CPU µs/request and of
 * the ratio to the bare proxy of the same round; RSS of Gatehouse after each phase.
 *
 *   node --import tsx bench/hotpath.ts [--rounds 5] [--seconds 4] [--soak N]
 *       [--heap-snapshots DIR]  heap snapshots after warm-up and after the soak (SIGUSR2)
 *       [--cpu-prof DIR]        a CPU profile of the Gatehouse process (written when it stops)
 *       [--compare DIR]         also a Gatehouse from another checkout (e.g. `git archive` of an
 *                               older commit, node_modules linked), measured in the same rounds
 *       [--no-dev]              skip the dev-token phase
 *       [--streams N]           N concurrent slow streams (10 chunks, 500 ms apart) before the soak
 *       [--first-streamed N]    N streamed requests at concurrency 1 to each Gatehouse before the
 *                               rounds (as `npm run bench` sends before its throughput phase)
 *       [--node-flags "…"]      more node flags for the (first) Gatehouse process, e.g. GC sizes
 *
 * Bounded: rounds × 3 phases × seconds, plus the soak (at most 500k requests).
 * `--help` prints the header above and exits.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { fixedCount, peakDuringStreams, rssMiB, sequential, throughput, type Target } from "./measure.ts";
import { BENCH_TOKEN, startBareProxy, startSignedGatehouse, startUpstream } from "./processes.ts";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  // The usage is this file's header comment: one text for the reader of the code and of --help.
  const source = readFileSync(new URL(import.meta.url), "utf8");
  const header = source.slice(source.indexOf("/**") + 3, source.indexOf("*/"));
  process.stdout.write(
    `${header
      .split("\n")
      .map((line) => line.replace(/^ \* ?/, ""))
      .join("\n")
      .trim()}\n`,
  );
  process.exit(0);
}

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} needs a positive number`);
  return value;
}
function textOption(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index < 0 ? undefined : process.argv[index + 1];
}

const ROUNDS = Math.min(option("--rounds", 5), 20);
const SECONDS = Math.min(option("--seconds", 4), 30);
const SOAK = Math.min(option("--soak", 0), 500_000);
const STREAMS = Math.min(option("--streams", 0), 2_000);
const FIRST_STREAMED = Math.min(option("--first-streamed", 0), 5_000);
const heapDir = textOption("--heap-snapshots");
const cpuProfDir = textOption("--cpu-prof");
const compareDir = textOption("--compare");
const withDev = !process.argv.includes("--no-dev");

const body = JSON.stringify({ model: "bench-delay-0", stream: false, messages: [{ role: "user", content: "Say hello." }] });

/** User + system CPU time of a process in ms, from /proc (100 Hz ticks). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

async function phase(target: Target, pid: number): Promise<{ cpuUs: number; rps: number }> {
  const before = cpuMs(pid);
  const result = await throughput(target, body, SECONDS, 64);
  if (result.non2xx + result.errors > 0) throw new Error(`${target.url}: ${result.non2xx} non-2xx and ${result.errors} errors`);
  return { cpuUs: ((cpuMs(pid) - before) * 1000) / Math.max(result.total, 1), rps: result.rps };
}

/** Asks the process for a heap snapshot and waits until it is written (the snapshot blocks its event loop). */
async function snapshot(pid: number, dir: string, target: Target): Promise<string> {
  const before = new Set(existsSync(dir) ? readdirSync(dir) : []);
  process.kill(pid, "SIGUSR2");
  await sleep(500);
  await sequential(target, body, 1, "total");
  const added = readdirSync(dir).filter((f) => f.endsWith(".heapsnapshot") && !before.has(f));
  const file = `${dir}/${added[0] ?? "?"}`;
  process.stderr.write(`  heap snapshot ${file} (${(statSync(file).size / 1e6).toFixed(0)} MB)\n`);
  return file;
}

async function main(): Promise<void> {
  const flags = [...(textOption("--node-flags")?.split(" ").filter(Boolean) ?? []), ...(heapDir ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${heapDir}`] : []), ...(cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`] : [])];
  const upstream = await startUpstream();
  const bare = await startBareProxy(upstream.port);
  const gatehouse = await startSignedGatehouse(upstream.port, flags);
  const other = compareDir ? await startSignedGatehouse(upstream.port, [], compareDir) : undefined;
  const started = [upstream, bare, gatehouse, ...(other ? [other] : [])];
  const url = `http://127.0.0.1:${gatehouse.port}/openai/v1/chat/completions`;
  const candidates: Array<{ name: string; pid: number; target: Target }> = [
    { name: "bare node proxy", pid: bare.pid, target: { url: `http://127.0.0.1:${bare.port}/openai/v1/chat/completions`, headers: {} } },
    { name: "gatehouse, signed token", pid: gatehouse.pid, target: { url, headers: { authorization: `Bearer ${gatehouse.token}` } } },
    ...(withDev ? [{ name: "gatehouse, dev token", pid: gatehouse.pid, target: { url, headers: { authorization: `Bearer ${BENCH_TOKEN}` } } }] : []),
    ...(other ? [{ name: `${compareDir}, signed token`, pid: other.pid, target: { url: `http://127.0.0.1:${other.port}/openai/v1/chat/completions`, headers: { authorization: `Bearer ${other.token}` } } }] : []),
  ];
  const results = candidates.map(() => [] as Array<{ cpuUs: number; rps: number }>);
  const rss: Array<[string, number]> = [["started", rssMiB(gatehouse.pid)]];
  const otherRss: Array<[string, number]> = other ? [["started", rssMiB(other.pid)]] : [];
  try {
    for (const c of candidates) await fixedCount(c.target, body, 5_000, 64);
    rss.push(["after warm-up", rssMiB(gatehouse.pid)]);
    if (other) otherRss.push(["after warm-up", rssMiB(other.pid)]);
    if (heapDir) await snapshot(gatehouse.pid, heapDir, candidates[1]!.target);
    if (FIRST_STREAMED > 0) {
      const streamed = JSON.stringify({ model: "bench-stream", stream: true, messages: [{ role: "user", content: "Say hello." }] });
      for (const c of candidates.slice(1)) await sequential(c.target, streamed, FIRST_STREAMED, "ttfb");
    }
    for (let round = 0; round < ROUNDS; round++) {
      const line: string[] = [];
      // The order rotates each round: a phase pays for the garbage the phase before it left in
      // the same process, so no candidate always follows the same one.
      for (let k = 0; k < candidates.length; k++) {
        const index = (round + k) % candidates.length;
        const c = candidates[index]!;
        const r = await phase(c.target, c.pid);
        results[index]!.push(r);
        line.push(`${c.name} ${r.cpuUs.toFixed(0)} µs ${r.rps.toFixed(0)}/s`);
      }
      rss.push([`after round ${round + 1}`, rssMiB(gatehouse.pid)]);
      if (other) otherRss.push([`after round ${round + 1}`, rssMiB(other.pid)]);
      process.stderr.write(`round ${round + 1}: ${line.join(" | ")}\n`);
    }
    if (STREAMS > 0) {
      for (const c of candidates.slice(1)) {
        const streams = await peakDuringStreams(c.target, JSON.stringify({ model: "bench-slow-stream", stream: true, messages: [{ role: "user", content: "Say hello." }] }), STREAMS, c.pid);
        if (streams.failed > 0) throw new Error(`${c.name}: ${streams.failed} of ${STREAMS} slow streams failed`);
      }
      rss.push([`after ${STREAMS} streams`, rssMiB(gatehouse.pid)]);
      if (other) otherRss.push([`after ${STREAMS} streams`, rssMiB(other.pid)]);
      if (heapDir) await snapshot(gatehouse.pid, heapDir, candidates[1]!.target);
    }
    if (SOAK > 0) {
      // Both gateways soak in turn, 50k requests at a time, so they see the same machine.
      const step = Math.min(SOAK, 50_000);
      const otherTarget = candidates.find((c) => other && c.pid === other.pid)?.target;
      for (let done = 0; done < SOAK; done += step) {
        const soak = await fixedCount(candidates[1]!.target, body, step, 64);
        if (soak.non2xx + soak.errors > 0) throw new Error("errors during the soak");
        rss.push([`soak ${done + step}`, rssMiB(gatehouse.pid)]);
        if (other && otherTarget) {
          const otherSoak = await fixedCount(otherTarget, body, step, 64);
          if (otherSoak.non2xx + otherSoak.errors > 0) throw new Error(`errors during the soak of ${compareDir}`);
          otherRss.push([`soak ${done + step}`, rssMiB(other.pid)]);
        }
      }
      if (heapDir) await snapshot(gatehouse.pid, heapDir, candidates[1]!.target);
    }
  } finally {
    await Promise.all(started.map((s) => s.stop()));
  }

  const bareCpu = results[0]!.map((r) => r.cpuUs);
  const bareRps = results[0]!.map((r) => r.rps);
  console.log(`\nHot path, ${new Date().toISOString()}, Node ${process.version}, ${ROUNDS} rounds of ${SECONDS} s at c=64, load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}\n`);
  console.log("| candidate | CPU µs/req min | median | CPU vs bare (same round) min | median | req/s median | req/s vs bare median |");
  console.log("|---|---|---|---|---|---|---|");
  for (const [index, c] of candidates.entries()) {
    const cpu = results[index]!.map((r) => r.cpuUs);
    const cpuRatio = cpu.map((v, i) => v / (bareCpu[i] as number));
    const rpsRatio = results[index]!.map((r, i) => r.rps / (bareRps[i] as number));
    console.log(
      `| ${c.name} | ${Math.min(...cpu).toFixed(0)} | ${median(cpu).toFixed(0)} | ${index === 0 ? "-" : `${Math.min(...cpuRatio).toFixed(2)}x`} | ${index === 0 ? "-" : `${median(cpuRatio).toFixed(2)}x`} | ${median(results[index]!.map((r) => r.rps)).toFixed(0)} | ${index === 0 ? "-" : median(rpsRatio).toFixed(2)} |`,
    );
  }
  if (other) {
    const mine = results[1]!.map((r) => r.cpuUs);
    const theirs = results[candidates.length - 1]!.map((r) => r.cpuUs);
    const ratios = mine.map((v, i) => v / (theirs[i] as number)).sort((a, b) => a - b);
    console.log(`\nThis checkout's CPU per request ÷ ${compareDir}'s, per round: ${ratios.map((r) => r.toFixed(2)).join(", ")} (median ${median(ratios).toFixed(2)})`);
  }
  console.log(`\nGatehouse RSS (MiB): ${rss.map(([at, mib]) => `${at} ${mib.toFixed(0)}`).join(", ")}`);
  if (other) console.log(`${compareDir} RSS (MiB): ${otherRss.map(([at, mib]) => `${at} ${mib.toFixed(0)}`).join(", ")}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`hotpath failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
