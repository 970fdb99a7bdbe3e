import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatUsage } from "../../src/cli/commands/usage.ts";
import { usageSummary, type LedgerRow } from "../../src/ledger/index.ts";
import { CLIENT_TOKEN, ledgerRows, readChunks, snapshotCost, startHarness, type Harness } from "./harness.ts";

/**
 * `gatehouse usage --by client,session`, the prompt-cache hit rate and unpriced models, from
 * real requests through a real gateway: what the ledger rows say, summed here apart from the
 * query under test, against what the query, the table, the JSON and the CSV print (the CSV
 * and JSON through the real `gatehouse` process).
 */

const bin = join(new URL("../..", import.meta.url).pathname, "bin/gatehouse.js");
/** Codex 0.171's default model: not in the bundled catalog (docs/usage-and-pricing.md), so unpriced. */
const UNPRICED_MODEL = "gpt-6.2-sol";

let h: Harness;
let rows: LedgerRow[];

async function send(path: string, body: unknown, headers: Record<string, string>, usage: Record<string, number>): Promise<void> {
  h.fake.enqueue({ usage });
  const res = await fetch(`${h.gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}`, ...headers }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  await readChunks(res);
}

const claude = { "user-agent": "claude-cli/2.1.332 (external, cli)", "anthropic-version": "2023-06-01" };
const codex = { "user-agent": "codex_cli_rs/0.171.0 (Ubuntu 24.4.0; x86_64) xterm", session_id: "codex-s2" };
const input = [{ role: "user", content: [{ type: "input_text", text: "hi" }] }];

beforeAll(async () => {
  h = await startHarness();
  for (let i = 0; i < 2; i++) {
    await send(
      "/anthropic/v1/messages",
      { model: "claude-sonnet-4-5", max_tokens: 50, stream: true, messages: [{ role: "user", content: "hi" }] },
      { ...claude, "x-claude-code-session-id": "cc-s1" },
      { input: 100, cacheRead: 900, cacheWrite5m: 100, output: 10 },
    );
  }
  await send("/openai/v1/responses", { model: UNPRICED_MODEL, stream: true, input }, codex, { input: 500, cacheRead: 500, output: 40 });
  await send("/openai/v1/responses", { model: "gpt-5", stream: true, input }, codex, { input: 300, output: 20 });
  await send("/openai/v1/responses", { model: UNPRICED_MODEL, stream: true, input }, { ...codex, session_id: "codex-s3" }, { input: 50, output: 5 });
  await send("/openai/v1/chat/completions", { model: "gpt-5", messages: [{ role: "user", content: "hi" }] }, { "user-agent": "OpenAI/JS 6.49.0" }, { input: 200, output: 30 });
  rows = await ledgerRows(h);
  expect(rows).toHaveLength(6);
}, 60_000);

afterAll(async () => {
  await h?.close();
});

/** The rows' own sums for a group: what the summary must say. */
function sums(match: (r: LedgerRow) => boolean) {
  const g = rows.filter(match);
  const n = (f: (r: LedgerRow) => number) => g.reduce((s, r) => s + f(r), 0);
  const inputTokens = n((r) => r.input_tokens ?? 0);
  const cacheRead = n((r) => r.cache_read_tokens ?? 0);
  const cacheWrite = n((r) => (r.cache_write_5m_tokens ?? 0) + (r.cache_write_1h_tokens ?? 0));
  return { requests: g.length, inputTokens, cacheReadTokens: cacheRead, cacheWriteTokens: cacheWrite, costUsd: n((r) => r.cost_usd ?? 0), unpricedRequests: n((r) => r.unpriced ?? 0), hit: cacheRead / (inputTokens + cacheRead + cacheWrite) };
}

describe("gatehouse usage --by client,session", () => {
  it("groups by client and session, with exact tokens, cost, unpriced requests and cache hit rate", async () => {
    const summary = await usageSummary(h.gateway.deps.db, { groupBy: ["client", "session"] });
    const key = (s: (typeof summary)[number]) => `${s.keys.client}/${s.keys.session ?? "-"}`;
    expect(summary.map(key).sort()).toEqual(["claude-code/cc-s1", "codex/codex-s2", "codex/codex-s3", "sdk/-"]);
    for (const s of summary) {
      const want = sums((r) => r.client === s.keys.client && (r.session_id ?? undefined) === s.keys.session);
      expect(s).toMatchObject({ requests: want.requests, inputTokens: want.inputTokens, cacheReadTokens: want.cacheReadTokens, cacheWriteTokens: want.cacheWriteTokens, unpricedRequests: want.unpricedRequests });
      expect(s.costUsd).toBeCloseTo(want.costUsd, 12);
      expect(s.cacheHitRate).toBeCloseTo(want.hit, 12);
    }
    // Anthropic reports input without cache; the ledger keeps it so: 900 of 100 + 900 + 100 read from cache.
    const cc = summary.find((s) => s.keys.session === "cc-s1");
    expect(cc?.cacheHitRate).toBeCloseTo(1800 / 2200, 12);
    // OpenAI reports input with the cached part; the ledger subtracts it: 500 of 1000 (+300 uncached on gpt-5).
    const s2 = summary.find((s) => s.keys.session === "codex-s2");
    expect(s2?.cacheHitRate).toBeCloseTo(500 / 1300, 12);
    const price = snapshotCost("openai", "gpt-5");
    expect(s2?.costUsd).toBeCloseTo((300 * price.input + 20 * price.output) / 1e6, 12);
    expect(s2?.unpricedRequests).toBe(1);
  });

  it("an unpriced model is never $0: the table says unpriced, or what is priced plus how many are not", async () => {
    const table = formatUsage(await usageSummary(h.gateway.deps.db, { groupBy: ["client", "session"] }), ["client", "session"], "table");
    const line = (session: string) => table.split("\n").find((l) => l.includes(session)) ?? "";
    expect(line("codex-s3")).toMatch(/\bunpriced\b/);
    expect(line("codex-s3")).not.toMatch(/\$0\.00/);
    expect(line("codex-s2")).toMatch(/\$0\.\d+ \+ 1 unpriced/);
    expect(line("cc-s1")).not.toContain("unpriced");
    expect(line("cc-s1")).toMatch(/81\.8%/);
    expect(table).toMatch(/Total cost: \$\d+\.\d+ over 6 requests; \+ 2 unpriced requests whose cost is unknown/);
    const unpricedOnly = formatUsage(await usageSummary(h.gateway.deps.db, { groupBy: ["model"] }), ["model"], "table");
    expect(unpricedOnly.split("\n").find((l) => l.startsWith(UNPRICED_MODEL))).toMatch(/^gpt-6\.2-sol\s+2\s.*\bunpriced\b/);
  });

  it("the real `gatehouse usage` prints null cost for unpriced groups in JSON and 'unpriced' in the CSV", () => {
    const dataDir = join(h.dir, "data");
    const json = spawnSync(process.execPath, [bin, "usage", "--by", "model,client", "--format", "json", "--data-dir", dataDir], { encoding: "utf8", timeout: 120_000 });
    expect(json.stderr).toBe("");
    expect(json.status).toBe(0);
    const parsed = JSON.parse(json.stdout) as Array<{ keys: { model: string; client: string }; costUsd: number | null; cost: string; unpricedRequests: number; cacheHitRate: number | null }>;
    const unpriced = parsed.find((r) => r.keys.model === UNPRICED_MODEL);
    expect(unpriced).toMatchObject({ keys: { client: "codex" }, costUsd: null, cost: "unpriced", unpricedRequests: 2 });
    expect(unpriced?.cacheHitRate).toBeCloseTo(500 / 1050, 12);
    expect(parsed.find((r) => r.keys.model === "claude-sonnet-4-5")).toMatchObject({ cost: "priced", unpricedRequests: 0 });

    const csv = spawnSync(process.execPath, [bin, "usage", "--by", "client,session", "--format", "csv", "--limit", "2", "--data-dir", dataDir], { encoding: "utf8", timeout: 120_000 });
    expect(csv.status).toBe(0);
    const lines = csv.stdout.trim().split("\r\n");
    expect(lines[0]).toBe("client,session,requests,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,reasoning_tokens,cost_usd,errors,cache_hit_rate,unpriced_requests");
    // --limit: the two most expensive groups.
    expect(lines).toHaveLength(3);
    const all = formatUsage([], ["client"], "csv");
    expect(all).toBe("client,requests,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,reasoning_tokens,cost_usd,errors,cache_hit_rate,unpriced_requests\r\n");
    const s3 = spawnSync(process.execPath, [bin, "usage", "--by", "session", "--format", "csv", "--data-dir", dataDir], { encoding: "utf8", timeout: 120_000 });
    expect(s3.stdout.split("\r\n").find((l) => l.startsWith("codex-s3,"))).toMatch(/^codex-s3,1,50,5,0,0,0,unpriced,0,0\.0000,1$/);
    expect(s3.stdout).toContain("\r\n(no session),");
  });

  it("refuses an unknown or repeated --by, and a bad --limit, saying what to type", () => {
    const dataDir = join(h.dir, "data");
    const bad = spawnSync(process.execPath, [bin, "usage", "--by", "client,sesion", "--data-dir", dataDir], { encoding: "utf8", timeout: 120_000 });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("unknown --by value sesion; use day, provider, model, caller, team, client, session");
    const twice = spawnSync(process.execPath, [bin, "usage", "--by", "client,client", "--data-dir", dataDir], { encoding: "utf8", timeout: 120_000 });
    expect(twice.stderr).toContain("--by names client twice");
    const limit = spawnSync(process.execPath, [bin, "usage", "--limit", "0", "--data-dir", dataDir], { encoding: "utf8", timeout: 120_000 });
    expect(limit.stderr).toContain('--limit must be a whole number of rows from 1, got "0"');
  });
});
