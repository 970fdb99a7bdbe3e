/**
 * `npm run bench`: one run measures a direct call, a bare Node pass-through proxy (the
 * floor), Gatehouse, and Portkey's open-source gateway against the same upstream process,
 * and prints every figure as a ratio to the direct call and the bare proxy of this run.
 *   --quick       shorter phases (for a smoke check, not for the README)
 *   --no-portkey  skip Portkey
 *   --no-scale    skip the scale-out rows (two instances on PostgreSQL, the worker in workerd)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fixedCount, peakDuringStreams, percentile, rssMiB, sequential, throughput, type Target } from "./measure.ts";
import { BENCH_TOKEN, startBareProxy, startPortkey, startSignedGatehouse, startUpstream, type Started } from "./processes.ts";
import { startPostgresPair, startWorkerd } from "./scale.ts";

const quick = process.argv.includes("--quick");
const withPortkey = !process.argv.includes("--no-portkey");
const withScale = !process.argv.includes("--no-scale");
const LATENCY_N = quick ? 200 : 1000;
const THROUGHPUT_S = quick ? 3 : 8;
const STREAMS = 1000;
const SOAK_N = quick ? 20_000 : 100_000;

const body = (model: string, stream = false) => JSON.stringify({ model, stream, messages: [{ role: "user", content: "Say hello." }] });

interface Candidate {
  name: string;
  target: Target;
  process?: Started;
}

interface Row {
  name: string;
  p50: number;
  p99: number;
  rps: number;
  ttfb50: number;
  ttfb99: number;
  peakStreamsMiB: number;
  soakBeforeMiB: number;
  soakAfterMiB: number;
}

function progress(message: string): void {
  process.stderr.write(`  … ${message}\n`);
}

async function main(): Promise<void> {
  const upstream = await startUpstream();
  const up = `http://127.0.0.1:${upstream.port}`;
  const bare = await startBareProxy(upstream.port);
  const gatehouse = await startSignedGatehouse(upstream.port);
  const portkey = withPortkey ? await startPortkey() : undefined;
  // Scale-out rows (issue 5; bench/scale.ts).
  const pgPair = withScale ? await startPostgresPair(upstream.port) : undefined;
  const workerd = withScale ? await startWorkerd(upstream.port) : undefined;
  const started = [upstream, bare, gatehouse, ...(portkey ? [portkey] : []), ...(pgPair ? [pgPair] : []), ...(workerd ? [{ stop: workerd.stop }] : [])];

  const candidates: Candidate[] = [
    { name: "direct", target: { url: `${up}/v1/chat/completions`, headers: { authorization: "Bearer sk-direct" } } },
    { name: "bare node proxy", target: { url: `http://127.0.0.1:${bare.port}/openai/v1/chat/completions`, headers: {} }, process: bare },
    { name: "gatehouse", target: { url: `http://127.0.0.1:${gatehouse.port}/openai/v1/chat/completions`, headers: { authorization: `Bearer ${gatehouse.token}` } }, process: gatehouse },
  ];
  if (pgPair) candidates.push({ name: pgPair.name, target: { url: `http://127.0.0.1:${pgPair.port}/openai/v1/chat/completions`, headers: { authorization: `Bearer ${pgPair.token}` } }, process: pgPair });
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
    for (const candidate of candidates) {
      process.stderr.write(`${candidate.name}\n`);
      const t = candidate.target;
      // Warm up connections and JIT before measuring.
      await sequential(t, body("bench-delay-0"), 200, "total");
      progress(`latency at concurrency 1, upstream 20 ms (${LATENCY_N} requests)`);
      const lat = await sequential(t, body("bench-delay-20"), LATENCY_N, "total");
      progress(`throughput at concurrency 64, zero-delay upstream (${THROUGHPUT_S} s)`);
      await throughput(t, body("bench-delay-0"), 1, 64);
      const tp = await throughput(t, body("bench-delay-0"), THROUGHPUT_S, 64);
      if (tp.non2xx + tp.errors > 0) throw new Error(`${candidate.name}: ${tp.non2xx} non-2xx and ${tp.errors} errors under load`);
      progress(`time to first byte of streams (${LATENCY_N} streams)`);
      const ttfb = await sequential(t, body("bench-stream", true), LATENCY_N, "ttfb");
      let peak = NaN;
      let before = NaN;
      let after = NaN;
      if (candidate.process) {
        progress(`${STREAMS} concurrent slow streams`);
        const streams = await peakDuringStreams(t, body("bench-slow-stream", true), STREAMS, candidate.process.pid);
        if (streams.failed > 0) throw new Error(`${candidate.name}: ${streams.failed} of ${STREAMS} slow streams failed`);
        peak = streams.peakMiB;
        const soak = candidate.name.startsWith("portkey") ? Math.min(SOAK_N, 10_000) : SOAK_N;
        progress(`memory over ${soak} requests`);
        await fixedCount(t, body("bench-delay-0"), 10_000, 64);
        before = rssMiB(candidate.process.pid);
        const soakResult = await fixedCount(t, body("bench-delay-0"), soak, 64);
        if (soakResult.non2xx + soakResult.errors > 0) throw new Error(`${candidate.name}: errors during the soak`);
        after = rssMiB(candidate.process.pid);
      }
      rows.push({ name: candidate.name, p50: percentile(lat, 50), p99: percentile(lat, 99), rps: tp.rps, ttfb50: percentile(ttfb, 50), ttfb99: percentile(ttfb, 99), peakStreamsMiB: peak, soakBeforeMiB: before, soakAfterMiB: after });
    }
  } finally {
    await Promise.all(started.map((s) => s.stop()));
  }

  const report = render(rows);
  process.stdout.write(`\n${report}\n`);
  mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
  writeFileSync(new URL("./results/latest.md", import.meta.url), `${report}\n`);
}

function render(rows: Row[]): string {
  const direct = rows.find((r) => r.name === "direct");
  const bare = rows.find((r) => r.name === "bare node proxy");
  if (!direct || !bare) throw new Error("direct and bare rows are required");
  const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : "-");
  const added = (v: number, base: number) => v - base;
  const lines = [
    `Benchmark, ${new Date().toISOString()}, Node ${process.version}, ${quick ? "quick" : "full"} run. Latencies in ms; "added" is minus the direct call.`,
    "",
    "| candidate | added p50 | added p99 | p99 added vs bare | req/s (c=64) | req/s vs bare | req/s vs direct | added TTFB p50 | added TTFB p99 | peak RSS, 1000 streams (MiB) | RSS after warm-up → after soak (MiB) |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const addedP99 = added(r.p99, direct.p99);
    const bareAddedP99 = added(bare.p99, direct.p99);
    lines.push(
      `| ${r.name} | ${f(added(r.p50, direct.p50), 3)} | ${f(addedP99, 3)} | ${r === direct ? "-" : f(addedP99 / Math.max(bareAddedP99, 0.001)) + "x"} | ${f(r.rps, 0)} | ${f(r.rps / bare.rps)} | ${f(r.rps / direct.rps)} | ${f(added(r.ttfb50, direct.ttfb50), 3)} | ${f(added(r.ttfb99, direct.ttfb99), 3)} | ${f(r.peakStreamsMiB, 0)} | ${f(r.soakBeforeMiB, 0)} → ${f(r.soakAfterMiB, 0)} |`,
    );
  }
  const gh = rows.find((r) => r.name === "gatehouse");
  const pk = rows.find((r) => r.name.startsWith("portkey"));
  if (gh) {
    lines.push("");
    lines.push(`Gatehouse throughput is ${f((gh.rps / bare.rps) * 100, 0)}% of the bare proxy${pk ? ` and ${f(gh.rps / pk.rps, 1)}x Portkey` : ""}; added p99 is ${f(added(gh.p99, direct.p99) / Math.max(added(bare.p99, direct.p99), 0.001))}x the bare proxy's; added TTFB p99 ${f(added(gh.ttfb99, direct.ttfb99), 3)} ms.`);
  }
  return lines.join("\n");
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
