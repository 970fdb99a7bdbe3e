/**
 * The knowledge layer at Cloudflare's scale: a generated catalog of 20,000 entities
 * (`catalog-info.yaml` files in 11k+ "repositories", realistic relations with hub services)
 * ingested into a real SQLite store through the local-checkout source, re-refreshed with no
 * change and with 1% of the repositories changed, then every MCP tool of the built-in
 * server called through a real MCP client (in-memory transport, the portal's path) with
 * latency p50/p99. `node --expose-gc --import tsx bench/knowledge.ts [--help]`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { Kysely } from "kysely";
import { localCatalogSource } from "../src/adapters/node/knowledge/local-source.ts";
import { openPostgresStore } from "../src/adapters/node/postgres.ts";
import { openSqlite } from "../src/adapters/node/sqlite.ts";
import { systemClock } from "../src/core/clock.ts";
import { catalogStore, knowledgeBuiltIn, refreshCatalog, type SourceRefreshReport } from "../src/knowledge/index.ts";
import { migrateToLatest, type Database } from "../src/store/index.ts";
import { generateCatalog, shapeFor } from "../test/knowledge/generate-catalog.ts";

const HELP = `Usage: node --import tsx bench/knowledge.ts [--entities N] [--calls N] [--postgres]
  --entities N   catalog size (default 20000, at most 100000)
  --calls N      calls per tool after 50 warm-up calls (default 1000, at most 20000)
  --postgres     run against a private PostgreSQL (test/scale/postgres.ts) instead of SQLite
Prints ingest time, refresh times (no change, 1% changed) and per-tool latency p50/p99 in ms
(wall time and this process's CPU time per call). Run with node --expose-gc for steadier tails.`;

const args = process.argv.slice(2);
if (args.includes("--help")) {
  console.log(HELP);
  process.exit(0);
}
function numberArg(name: string, fallback: number, max: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    console.error(`${name} needs an integer from 1 to ${max}.\n\n${HELP}`);
    process.exit(2);
  }
  return value;
}
const entities = numberArg("--entities", 20_000, 100_000);
const calls = numberArg("--calls", 1_000, 20_000);

const work = mkdtempSync(join(tmpdir(), "gatehouse-bench-knowledge-"));
let stopDatabase = async (): Promise<void> => undefined;
let db: Kysely<Database>;
if (args.includes("--postgres")) {
  const { startTestDatabase } = await import("../test/scale/postgres.ts");
  const database = await startTestDatabase();
  db = await openPostgresStore(database.url);
  stopDatabase = () => database.close();
} else {
  db = openSqlite(join(work, "gatehouse.db"));
  await migrateToLatest(db);
}

try {
  const started = performance.now();
  const catalog = generateCatalog(join(work, "checkouts"), shapeFor(entities));
  console.log(`generated ${entities} entities in ${catalog.files} catalog-info.yaml files (${JSON.stringify(catalog.shape)}) in ${ms(performance.now() - started)}`);

  const source = localCatalogSource({ id: "checkouts", path: catalog.root, maxDepth: 3 });
  const store = catalogStore(db);
  const refresh = async (label: string): Promise<void> => {
    const t0 = performance.now();
    const [report] = await refreshCatalog(store, [source], systemClock);
    printRefresh(label, performance.now() - t0, report);
  };
  await refresh("ingest (empty store)");
  await refresh("refresh, nothing changed");
  const touched = catalog.touch(Math.max(1, Math.round(catalog.shape.components / 100)), 1);
  await refresh(`refresh, ${touched} repositories changed`);

  const [clientSide, serverSide] = [new Client({ name: "bench", version: "1.0.0" }), knowledgeBuiltIn(db)];
  await clientSide.connect(serverSide.connect());
  let seed = 7;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const pick = (refs: readonly string[]): string => refs[next(refs.length)] as string;
  const bareName = (ref: string): string => ref.slice(ref.indexOf("/") + 1);
  const cases: [string, () => Record<string, unknown>][] = [
    ["get_entity (full ref)", () => ({ ref: pick(catalog.refs.components) })],
    ["get_entity (bare name)", () => ({ ref: bareName(pick(catalog.refs.components)) })],
    ["owner_of", () => ({ ref: pick(catalog.refs.components) })],
    ["dependencies depth 1", () => ({ ref: pick(catalog.refs.components), depth: 1 })],
    ["dependents depth 1", () => ({ ref: pick(catalog.refs.components), depth: 1 })],
    ["apis_of", () => ({ ref: pick(catalog.refs.components) })],
    ["get_api (with definition)", () => ({ ref: pick(catalog.refs.apis) })],
    ["group_members", () => ({ ref: pick(catalog.refs.groups) })],
    ["relations (one hop, all types)", () => ({ ref: pick(catalog.refs.groups) })],
    ["find_entities (kind + owner)", () => ({ kind: "component", owner: pick(catalog.refs.groups), limit: 25 })],
    ["dependencies depth 3", () => ({ ref: pick(catalog.refs.components), depth: 3 })],
    ["dependents depth 3 (hubs: capped at 500)", () => ({ ref: pick(catalog.refs.components.slice(0, 200)), depth: 3 })],
    ["search (two words)", () => ({ query: `${pick(["rust", "go", "python", "java"])} ${pick(["billing", "auth", "cache", "dns"])}`, limit: 10 })],
  ];
  console.log(`\ntool latency over ${calls} calls each (MCP client -> in-memory transport -> knowledge server -> ${args.includes("--postgres") ? "PostgreSQL" : "SQLite"});`);
  const inProcess = args.includes("--postgres") ? "client and server run in it; PostgreSQL's own CPU is not counted" : "client, server and SQLite all run in it";
  console.log(`wall = elapsed time per call; cpu = this process's CPU time per call (${inProcess}), which a loaded machine does not inflate:`);
  for (const [label, makeArgs] of cases) {
    const tool = label.split(" ")[0] as string;
    const samples: number[] = [];
    const cpuSamples: number[] = [];
    let bytes = 0;
    // A collection left over from the ingest would land in the first tool's tail.
    (globalThis as { gc?: () => void }).gc?.();
    for (let i = 0; i < 50 + calls; i++) {
      const toolArgs = makeArgs();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const result = (await clientSide.callTool({ name: tool, arguments: toolArgs })) as CallToolResult;
      const elapsed = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      if (result.isError) throw new Error(`${tool} ${JSON.stringify(toolArgs)} failed: ${JSON.stringify(result.content)}`);
      if (i >= 50) {
        samples.push(elapsed);
        cpuSamples.push((cpu.user + cpu.system) / 1000);
        bytes += (result.content[0] as { text: string }).text.length;
      }
    }
    samples.sort((a, b) => a - b);
    cpuSamples.sort((a, b) => a - b);
    const f = (sorted: number[], q: number): string => quantile(sorted, q).toFixed(2).padStart(6);
    console.log(`  ${label.padEnd(42)} wall p50 ${f(samples, 0.5)} p99 ${f(samples, 0.99)} ms | cpu p50 ${f(cpuSamples, 0.5)} p99 ${f(cpuSamples, 0.99)} ms | ${Math.round(bytes / samples.length)} chars`);
  }
  await clientSide.close();
} finally {
  await db.destroy();
  await stopDatabase();
  rmSync(work, { recursive: true, force: true });
}

function printRefresh(label: string, elapsed: number, report: SourceRefreshReport | undefined): void {
  if (!report) throw new Error("no report");
  if (report.status !== "ok" || report.problems.length > 0) throw new Error(`refresh failed: ${report.error ?? JSON.stringify(report.problems.slice(0, 3))}`);
  console.log(`${label.padEnd(40)} ${ms(elapsed).padStart(9)}  (${report.entities} entities: +${report.added} ~${report.updated} -${report.removed} =${report.unchanged})`);
}

function ms(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(0)} ms`;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}
