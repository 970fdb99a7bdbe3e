/**
 * `npm run bench`: one run measures a direct call, a bare Node pass-through proxy (the
 * floor), Gatehouse, and Portkey's open-source gateway against the same upstream process,
 * and prints every figure as a ratio to the direct call and the bare proxy of this run.
 * Its options are in HELP below (`npm run bench -- --help`).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fixedCount, peakDuringStreams, percentile, rssMiB, sequential, throughput, timedPost, type Target } from "./measure.ts";
import { BENCH_TOKEN, startBareProxy, startPortkey, startSignedGatehouse, startUpstream, type Started } from "./processes.ts";
import { startPostgresPair, startWorkerd } from "./scale.ts";
import { measureCloudRoutes } from "./cloud-routes.ts";

const HELP = `Usage: npm run bench [-- options]
Measures a direct call, a bare Node proxy, Gatehouse and Portkey against one upstream, as ratios of this run.
  --quick       shorter phases (for a smoke check, not for the README)
  --no-portkey  skip Portkey
  --no-scale    skip the scale-out rows (two instances on PostgreSQL, the worker in workerd)
  --no-cloud    skip the cloud-route rows (a Bedrock stream against the direct Anthropic route)
  --cloud-only  only the cloud-route rows
  --compare DIR one more Gatehouse row, started from another checkout (an older commit via
                \`git archive\`, node_modules linked): a before/after in the same run; repeatable
  --help        this text
`;
if (process.argv.includes("--help") || process.argv.includes("-h")) {
  process.stdout.write(HELP);
  process.exit(0);
}

const quick = process.argv.includes("--quick");
const withPortkey = !process.argv.includes("--no-portkey");
const withScale = !process.argv.includes("--no-scale");
const withCloud = !process.argv.includes("--no-cloud");
const cloudOnly = process.argv.includes("--cloud-only");
const compareDirs = process.argv.flatMap((arg, i) => (arg === "--compare" && process.argv[i + 1] ? [process.argv[i + 1] as string] : []));
const LATENCY_N = quick ? 200 : 1000;
// Throughput is measured in rounds, one phase per candidate each, the order rotating, so a
// burst of load from other work on the shared machine lands on one round of everybody, not
// on one candidate's whole figure; each figure is the median of its rounds.
const THROUGHPUT_ROUNDS = quick ? 2 : 4;
const ROUND_S = 2;
const STREAMS = 1000;
const SOAK_N = quick ? 20_000 : 100_000;
// Streams carry the event framing (src/proxy/client-stream.ts): their CPU is measured apart from the JSON requests'.
const STREAM_CPU_ROUNDS = quick ? 2 : 4;
const STREAM_CPU_N = quick ? 500 : 2000;

const body = (model: string, stream = false) => JSON.stringify({ model, stream, messages: [{ role: "user", content: "Say hello." }] });

interface Candidate {
  name: string;
  target: Target;
  process?: Started;
  /** Its work is spread over several processes: no per-process CPU figure. */
  sharedCpu?: boolean;
}

interface Row {
  name: string;
  p50: number;
  p99: number;
  /** Medians over the throughput rounds. */
  rps: number;
  /** CPU the candidate's process spent per request during the throughput phase. */
  cpuUsPerRequest: number;
  /** Medians of the per-round ratios to the bare proxy's figure of the same round. */
  rpsVsBare: number;
  cpuVsBare: number;
  /** CPU the candidate's process spent per streamed request (10 SSE events each), median of the stream rounds. */
  cpuUsPerStream: number;
  ttfb50: number;
  ttfb99: number;
  peakStreamsMiB: number;
  /** RSS after warm-up, after half the soak, after all of it. */
  memory: number[];
}

function progress(message: string): void {
  process.stderr.write(`  … ${message}\n`);
}

async function cloudRows(upstreamPort: number, gatehouse: Started & { token: string }): Promise<string[]> {
  process.stderr.write("cloud routes: a Claude stream through /bedrock and through /anthropic\n");
  return measureCloudRoutes(upstreamPort, gatehouse, LATENCY_N, quick ? 1000 : 5000);
}

async function main(): Promise<void> {
  if (cloudOnly) {
    const upstream = await startUpstream();
    const gatehouse = await startSignedGatehouse(upstream.port);
    try {
      process.stdout.write(`\n${(await cloudRows(upstream.port, gatehouse)).join("\n")}\n`);
    } finally {
      await Promise.all([upstream.stop(), gatehouse.stop()]);
    }
    return;
  }
  const upstream = await startUpstream();
  const up = `http://127.0.0.1:${upstream.port}`;
  const bare = await startBareProxy(upstream.port);
  const gatehouse = await startSignedGatehouse(upstream.port);
  const compared: Array<Started & { token: string; dir: string }> = [];
  for (const dir of compareDirs) compared.push({ ...(await startSignedGatehouse(upstream.port, [], dir)), dir });
  const portkey = withPortkey ? await startPortkey() : undefined;
  // Scale-out rows (issue 5; bench/scale.ts).
  const pgPair = withScale ? await startPostgresPair(upstream.port) : undefined;
  const workerd = withScale ? await startWorkerd(upstream.port) : undefined;
  let cloud: string[] = [];
  const started = [upstream, bare, gatehouse, ...compared, ...(portkey ? [portkey] : []), ...(pgPair ? [pgPair] : []), ...(workerd ? [{ stop: workerd.stop }] : [])];

  const candidates: Candidate[] = [
    { name: "direct", target: { url: `${up}/v1/chat/completions`, headers: { authorization: "Bearer sk-direct" } } },
    { name: "bare node proxy", target: { url: `http://127.0.0.1:${bare.port}/openai/v1/chat/completions`, headers: {} }, process: bare },
    { name: "gatehouse", target: { url: `http://127.0.0.1:${gatehouse.port}/openai/v1/chat/completions`, headers: { authorization: `Bearer ${gatehouse.token}` } }, process: gatehouse },
  ];
  for (const other of compared) candidates.push({ name: `gatehouse (${other.dir})`, target: { url: `http://127.0.0.1:${other.port}/openai/v1/chat/completions`, headers: { authorization: `Bearer ${other.token}` } }, process: other });
  if (pgPair) candidates.push({ name: pgPair.name, target: { url: `http://127.0.0.1:${pgPair.port}/openai/v1/chat/completions`, headers: { authorization: `Bearer ${pgPair.token}` } }, process: pgPair, sharedCpu: true });
  if (workerd) candidates.push({ name: "worker (workerd)", target: { url: `${workerd.url}/openai/v1/chat/completions`, headers: { authorization: `Bearer ${BENCH_TOKEN}` } } });
  if (portkey) {
    candidates.push({
      name: "portkey 1.15.2",
      target: { url: `http://127.0.0.1:${portkey.port}/v1/chat/completions`, headers: { authorization: "Bearer sk-direct", "x-portkey-provider": "openai", "x-portkey-custom-host": `${up}/v1` } },
      process: portkey,
    });
  }

  const rows: Row[] = [];
  try {
    // Warm up connections and JIT before measuring.
    for (const candidate of candidates) await sequential(candidate.target, body("bench-delay-0"), 200, "total");
    // Latency and time to first byte are sampled round-robin across candidates, so a hiccup of
    // the shared machine lands on all of them alike instead of on whoever ran at that moment.
    process.stderr.write(`latency at concurrency 1, upstream 20 ms (${LATENCY_N} rounds over ${candidates.length} candidates)\n`);
    const lat = await interleaved(candidates, body("bench-delay-20"), LATENCY_N, "total");
    process.stderr.write(`time to first byte of streams (${LATENCY_N} rounds)\n`);
    const ttfb = await interleaved(candidates, body("bench-stream", true), LATENCY_N, "ttfb");
    process.stderr.write(`throughput at concurrency 64, zero-delay upstream (${THROUGHPUT_ROUNDS} rounds of ${ROUND_S} s per candidate, after a 1 s warm-up each)\n`);
    for (const candidate of candidates) await throughput(candidate.target, body("bench-delay-0"), 1, 64);
    const rounds = await throughputRounds(candidates);
    process.stderr.write(`CPU per streamed request (${STREAM_CPU_ROUNDS} rounds of ${STREAM_CPU_N} streams at concurrency 32 per candidate)\n`);
    const streamCpu = await streamCpuRounds(candidates);
    for (const [index, candidate] of candidates.entries()) {
      process.stderr.write(`${candidate.name}\n`);
      const t = candidate.target;
      let peak = NaN;
      const memory: number[] = [];
      if (candidate.process) {
        progress(`${STREAMS} concurrent slow streams`);
        const streams = await peakDuringStreams(t, body("bench-slow-stream", true), STREAMS, candidate.process.pid);
        if (streams.failed > 0) throw new Error(`${candidate.name}: ${streams.failed} of ${STREAMS} slow streams failed`);
        peak = streams.peakMiB;
        const soak = candidate.name.startsWith("portkey") ? Math.min(SOAK_N, 10_000) : SOAK_N;
        progress(`memory over ${soak} requests`);
        await fixedCount(t, body("bench-delay-0"), 10_000, 64);
        memory.push(rssMiB(candidate.process.pid));
        for (let half = 0; half < 2; half++) {
          const soakResult = await fixedCount(t, body("bench-delay-0"), soak / 2, 64);
          if (soakResult.non2xx + soakResult.errors > 0) throw new Error(`${candidate.name}: errors during the soak`);
          memory.push(rssMiB(candidate.process.pid));
        }
      }
      const l = lat[index] as number[];
      const f = ttfb[index] as number[];
      const r = rounds[index] as RoundFigures;
      rows.push({ name: candidate.name, p50: percentile(l, 50), p99: percentile(l, 99), ...r, cpuUsPerStream: streamCpu[index] as number, ttfb50: percentile(f, 50), ttfb99: percentile(f, 99), peakStreamsMiB: peak, memory });
    }
    if (withCloud) cloud = await cloudRows(upstream.port, gatehouse);
  } finally {
    await Promise.all(started.map((s) => s.stop()));
  }

  const report = [render(rows), ...(cloud.length > 0 ? ["", ...cloud] : [])].join("\n");
  process.stdout.write(`\n${report}\n`);
  mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
  writeFileSync(new URL("./results/latest.md", import.meta.url), `${report}\n`);
}

function render(rows: Row[]): string {
  const direct = rows.find((r) => r.name === "direct");
  const bare = rows.find((r) => r.name === "bare node proxy");
  if (!direct || !bare) throw new Error("direct and bare rows are required");
  const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : "-");
  const addedP99 = (r: Row) => r.p99 - direct.p99;
  const addedTtfb99 = (r: Row) => r.ttfb99 - direct.ttfb99;
  // A ratio to the floor's added p99 means nothing when the floor added nothing (or less than the direct call).
  const p99VsBare = (r: Row) => (addedP99(bare) > 0.05 ? `${f(addedP99(r) / addedP99(bare))}x` : "n/a");
  const lines = [
    `Benchmark, ${new Date().toISOString()}, Node ${process.version}, ${quick ? "quick" : "full"} run, ${cpus().length} cores, load average at the end ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}. Latencies in ms; "added" = the candidate's percentile minus the direct call's, sampled round-robin. Throughput and CPU: median of ${THROUGHPUT_ROUNDS} rounds of ${ROUND_S} s; "vs bare" = median of the per-round ratios to the bare proxy's figure of the same round.`,
    "",
    "| candidate | added p50 | added p99 | added p99 vs bare | req/s (c=64) | req/s vs bare | req/s vs direct | CPU µs/request | CPU vs bare | CPU µs/stream | added TTFB p50 | added TTFB p99 | peak RSS, 1000 streams (MiB) | RSS after warm-up → half → full soak (MiB) |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const isDirect = r === direct;
    lines.push(
      `| ${r.name} | ${isDirect ? "-" : f(r.p50 - direct.p50, 3)} | ${isDirect ? "-" : f(addedP99(r), 3)} | ${isDirect || r === bare ? "-" : p99VsBare(r)} | ${f(r.rps, 0)} | ${f(r.rpsVsBare)} | ${f(r.rps / direct.rps)} | ${f(r.cpuUsPerRequest, 0)} | ${r === bare || !Number.isFinite(r.cpuVsBare) ? "-" : `${f(r.cpuVsBare)}x`} | ${f(r.cpuUsPerStream, 0)} | ${isDirect ? "-" : f(r.ttfb50 - direct.ttfb50, 3)} | ${isDirect ? "-" : f(addedTtfb99(r), 3)} | ${f(r.peakStreamsMiB, 0)} | ${r.memory.length ? r.memory.map((m) => f(m, 0)).join(" → ") : "-"} |`,
    );
  }
  const gh = rows.find((r) => r.name === "gatehouse");
  const pk = rows.find((r) => r.name.startsWith("portkey"));
  if (gh) {
    lines.push("");
    lines.push(
      `Gatehouse: throughput ${f(gh.rpsVsBare * 100, 0)}% of the bare proxy${pk ? ` and ${f(gh.rps / pk.rps, 1)}x Portkey` : ""}; CPU per request ${f(gh.cpuVsBare)}x the bare proxy's; added p99 ${f(addedP99(gh), 3)} ms (${p99VsBare(gh)} the bare proxy's); added TTFB p99 ${f(addedTtfb99(gh), 3)} ms (the bare proxy's: ${f(addedTtfb99(bare), 3)} ms).`,
    );
  }
  return lines.join("\n");
}

interface RoundFigures {
  rps: number;
  cpuUsPerRequest: number;
  rpsVsBare: number;
  cpuVsBare: number;
}

/**
 * THROUGHPUT_ROUNDS rounds of one ROUND_S phase per candidate, the order rotating each round
 * (a phase pays for garbage the phase before it left in the same machine's caches and
 * processes). Per candidate: the medians of its rounds and of its ratios to the bare proxy's
 * figures of the same round.
 */
async function throughputRounds(candidates: readonly Candidate[]): Promise<RoundFigures[]> {
  const bareIndex = candidates.findIndex((c) => c.name === "bare node proxy");
  const perRound = candidates.map(() => [] as Array<{ rps: number; cpu: number }>);
  for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
    for (let k = 0; k < candidates.length; k++) {
      const index = (round + k) % candidates.length;
      const candidate = candidates[index] as Candidate;
      const measured = candidate.process && !candidate.sharedCpu ? candidate.process.pid : undefined;
      const cpuBefore = measured === undefined ? NaN : cpuMs(measured);
      const tp = await throughput(candidate.target, body("bench-delay-0"), ROUND_S, 64);
      if (tp.non2xx + tp.errors > 0) throw new Error(`${candidate.name}: ${tp.non2xx} non-2xx and ${tp.errors} errors under load`);
      const cpu = measured === undefined ? NaN : ((cpuMs(measured) - cpuBefore) * 1000) / Math.max(tp.total, 1);
      (perRound[index] as Array<{ rps: number; cpu: number }>).push({ rps: tp.rps, cpu });
    }
    progress(
      `round ${round + 1}: ${candidates
        .map((c, i) => {
          const r = (perRound[i] as Array<{ rps: number; cpu: number }>)[round];
          return `${c.name} ${r?.rps.toFixed(0)}/s${Number.isFinite(r?.cpu) ? ` ${r?.cpu.toFixed(0)} µs` : ""}`;
        })
        .join(", ")}`,
    );
  }
  const bareRounds = perRound[bareIndex] as Array<{ rps: number; cpu: number }>;
  return perRound.map((rounds) => ({
    rps: median(rounds.map((r) => r.rps)),
    cpuUsPerRequest: median(rounds.map((r) => r.cpu)),
    rpsVsBare: median(rounds.map((r, i) => r.rps / (bareRounds[i] as { rps: number }).rps)),
    cpuVsBare: median(rounds.map((r, i) => r.cpu / (bareRounds[i] as { cpu: number }).cpu)),
  }));
}

/** Per candidate with its own process: the median over rounds of its CPU per streamed request (bench-stream: 10 events over ~10 ms). */
async function streamCpuRounds(candidates: readonly Candidate[]): Promise<number[]> {
  const perRound = candidates.map(() => [] as number[]);
  for (let round = 0; round < STREAM_CPU_ROUNDS; round++) {
    for (let k = 0; k < candidates.length; k++) {
      const index = (round + k) % candidates.length;
      const candidate = candidates[index] as Candidate;
      const measured = candidate.process && !candidate.sharedCpu ? candidate.process.pid : undefined;
      if (measured === undefined) continue;
      const cpuBefore = cpuMs(measured);
      const result = await fixedCount(candidate.target, body("bench-stream", true), STREAM_CPU_N, 32);
      if (result.non2xx + result.errors > 0) throw new Error(`${candidate.name}: ${result.non2xx} non-2xx and ${result.errors} errors on streams`);
      (perRound[index] as number[]).push(((cpuMs(measured) - cpuBefore) * 1000) / STREAM_CPU_N);
    }
  }
  return perRound.map((values) => median(values));
}

function median(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return NaN;
  const mid = Math.floor(finite.length / 2);
  return finite.length % 2 ? (finite[mid] as number) : ((finite[mid - 1] as number) + (finite[mid] as number)) / 2;
}

/** `rounds` rounds of one request per candidate, in turn; returns each candidate's sorted samples. */
async function interleaved(candidates: readonly Candidate[], requestBody: string, rounds: number, pick: "ttfb" | "total"): Promise<number[][]> {
  const samples = candidates.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (const [index, candidate] of candidates.entries()) {
      const result = await timedPost(candidate.target, requestBody);
      if (result.status !== 200) throw new Error(`${candidate.name} answered ${result.status}`);
      (samples[index] as number[]).push(pick === "ttfb" ? result.ttfb : result.total);
    }
  }
  return samples.map((s) => s.sort((a, b) => a - b));
}

/** User + system CPU time of a process in ms, from /proc (100 Hz ticks). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
