import { readFileSync } from "node:fs";
import { fixedCount, percentile, timedPost, type Target } from "./measure.ts";
import type { Started } from "./processes.ts";

/**
 * The cloud-route rows of `npm run bench`: a Claude stream through Bedrock's route (SigV4
 * signed per request, event-stream frames read for usage) against the same stream through the
 * direct Anthropic route (SSE), on the same gateway process and upstream, in the same run.
 * TTFB is sampled round-robin against the upstream called directly; CPU is the gateway
 * process's per streamed request over a fixed count at concurrency 16.
 */
const BODY_ANTHROPIC = JSON.stringify({ model: "claude-sonnet-4-5-20250929", max_tokens: 64, stream: true, messages: [{ role: "user", content: "Say hello." }] });
const BODY_BEDROCK = JSON.stringify({ anthropic_version: "bedrock-2023-05-31", max_tokens: 64, messages: [{ role: "user", content: "Say hello." }] });
const BEDROCK_PATH = "/bedrock/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream";

function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export async function measureCloudRoutes(upstreamPort: number, gatehouse: Started & { token: string }, rounds: number, cpuRequests: number): Promise<string[]> {
  const auth = { authorization: `Bearer ${gatehouse.token}` };
  const routes: Array<{ name: string; target: Target; body: string }> = [
    { name: "direct (upstream's Anthropic SSE)", target: { url: `http://127.0.0.1:${upstreamPort}/v1/messages`, headers: {} }, body: BODY_ANTHROPIC },
    { name: "gatehouse /anthropic (SSE)", target: { url: `http://127.0.0.1:${gatehouse.port}/anthropic/v1/messages`, headers: { ...auth, "anthropic-version": "2023-06-01" } }, body: BODY_ANTHROPIC },
    { name: "gatehouse /bedrock (SigV4, event stream)", target: { url: `http://127.0.0.1:${gatehouse.port}${BEDROCK_PATH}`, headers: auth }, body: BODY_BEDROCK },
  ];
  for (const route of routes) for (let i = 0; i < 20; i++) await timedPost(route.target, route.body);
  const ttfb = routes.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (const [index, route] of routes.entries()) {
      const r = await timedPost(route.target, route.body);
      if (r.status !== 200) throw new Error(`${route.name} answered ${r.status}`);
      (ttfb[index] as number[]).push(r.ttfb);
    }
  }
  for (const list of ttfb) list.sort((a, b) => a - b);
  // One route at a time: the figure is the gateway process's CPU over that route's streams alone.
  const cpuFigures: number[] = [NaN];
  for (const route of routes.slice(1)) {
    const before = cpuMs(gatehouse.pid);
    const result = await fixedCount(route.target, route.body, cpuRequests, 16);
    if (result.non2xx + result.errors > 0) throw new Error(`${route.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    cpuFigures.push(((cpuMs(gatehouse.pid) - before) * 1000) / cpuRequests);
  }
  const f = (n: number, d = 3) => (Number.isFinite(n) ? n.toFixed(d) : "-");
  const direct = ttfb[0] as number[];
  const lines = [
    `Cloud routes: a Claude stream (start, 10 deltas 1 ms apart, stop), ${rounds} round-robin TTFB samples; CPU = the gateway process's per streamed request over ${cpuRequests} streams at concurrency 16.`,
    "",
    "| route | TTFB p50 | TTFB p99 | added TTFB p50 | added TTFB p99 | CPU µs/request |",
    "|---|---|---|---|---|---|",
  ];
  for (const [index, route] of routes.entries()) {
    const list = ttfb[index] as number[];
    const added = index === 0 ? ["-", "-"] : [f(percentile(list, 50) - percentile(direct, 50)), f(percentile(list, 99) - percentile(direct, 99))];
    lines.push(`| ${route.name} | ${f(percentile(list, 50))} | ${f(percentile(list, 99))} | ${added[0]} | ${added[1]} | ${f(cpuFigures[index] as number, 0)} |`);
  }
  const anthropicCpu = cpuFigures[1] as number;
  const bedrockCpu = cpuFigures[2] as number;
  lines.push(
    "",
    `Bedrock over direct Anthropic on the same gateway: TTFB p50 ${f(percentile(ttfb[2] as number[], 50) - percentile(ttfb[1] as number[], 50))} ms, CPU ${f(bedrockCpu - anthropicCpu, 0)} µs per streamed request (${f(bedrockCpu / anthropicCpu, 2)}x).`,
  );
  return lines;
}
