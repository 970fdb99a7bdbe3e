import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { readFileSync } from "node:fs";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/index.ts";
import type { DurableObjectNamespace } from "../../src/adapters/workers/bindings.ts";
import { startLocalWorker, type LocalWorker } from "./workerd.ts";

/**
 * The Gatehouse worker running in workerd (Miniflare's `workerd serve`, local D1, KV and
 * the SQLite-backed counters Durable Object), called over real HTTP from this process; the
 * fake providers run here too, reached by the worker on 127.0.0.1.
 */
const TOKEN = "gh_workerd_token_0123456789abcdef";
const OPENAI_KEY = "sk-openai-workerd-key-002";
const snapshotText = readFileSync(new URL("../../data/models-dev-api.json", import.meta.url), "utf8");

let fake: FakeUpstream;
let worker: LocalWorker;
let catalogServer: Server;
let catalogFetches = 0;

// $1 per million tokens; a request of ~150 body bytes with max_tokens 100000 reserves ~$0.10.
const MAX_TOKENS = 100_000;
const DAILY_USD = 0.35;

beforeAll(async () => {
  fake = await startFakeUpstream({ keys: { openai: OPENAI_KEY } });
  catalogServer = createServer((_req, res) => {
    catalogFetches++;
    res.writeHead(200, { "content-type": "application/json" }).end(snapshotText);
  });
  await new Promise<void>((resolve) => catalogServer.listen(0, "127.0.0.1", resolve));
  const address = catalogServer.address();
  const catalogPort = typeof address === "object" && address ? address.port : 0;
  const orgConfig = {
    providers: { openai: { upstream: `${fake.url}/v1` } },
    pricing: { "openai/gpt-budget": { input: 1, output: 1 } },
    policy: { groups: { dev: { models: ["openai/*"], budget: { perUser: { dailyUsd: DAILY_USD } } } } },
  };
  worker = await startLocalWorker({
    GATEHOUSE_AUTH_MODE: "dev",
    GATEHOUSE_ALLOW_DEV_AUTH: "true",
    GATEHOUSE_DEV_TOKEN: TOKEN,
    GATEHOUSE_LOG_LEVEL: "warn",
    GATEHOUSE_CATALOG_URL: `http://127.0.0.1:${catalogPort}/api.json`,
    OPENAI_API_KEY: OPENAI_KEY,
    GATEHOUSE_ORG_CONFIG: JSON.stringify(orgConfig),
  });
}, 120_000);

afterAll(async () => {
  await worker?.close();
  await fake?.close();
  await new Promise<void>((resolve) => (catalogServer ? catalogServer.close(() => resolve()) : resolve()));
});

function chat(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${worker.url}/openai/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function ledgerRow(requestId: string) {
  const db = await worker.mf.getD1Database("DB");
  // The row is written from ctx.waitUntil after the stream ended: poll (a generous deadline; a loaded machine is slow).
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    const row = await db.prepare("select * from ledger where request_id = ?").bind(requestId).first<Record<string, unknown>>();
    if (row) return row;
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

// workerd, D1 and Durable Objects through Miniflare: generous per-test time on a loaded 2-core machine.
describe("Gatehouse in workerd", { timeout: 120_000 }, () => {
  it("streams each upstream chunk to the client as it is produced, and records usage in D1", async () => {
    // Deltas 300 ms apart: wide enough that a loaded machine's scheduling hiccups do not merge two of them.
    fake.enqueue({ chunks: 6, chunkDelayMs: 300, usage: { input: 321, output: 45, cacheRead: 100 } });
    const started = performance.now();
    const res = await chat({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "hi" }] });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(res.headers.get("content-encoding")).toBe("identity");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const arrivals: number[] = [];
    let text = "";
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arrivals.push(performance.now() - started);
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toContain("data: [DONE]");
    // Unbuffered: the deltas arrive spread over the ~1.8 s the upstream takes, not at once.
    expect(arrivals.length).toBeGreaterThanOrEqual(5);
    const spread = (arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0);
    expect(spread).toBeGreaterThan(1200);
    const gaps = arrivals.slice(1).map((t, i) => t - (arrivals[i] ?? 0));
    expect(gaps.filter((g) => g > 150).length).toBeGreaterThanOrEqual(4);
    // The client never saw the usage chunk the gateway asked for on its behalf.
    expect(text).not.toMatch(/"usage":\{/);

    const row = await ledgerRow(res.headers.get("x-gatehouse-request-id") as string);
    expect(row).toMatchObject({ provider: "openai", model: "gpt-4o-mini", outcome: "completed", streamed: 1, input_tokens: 321, output_tokens: 45, cache_read_tokens: 100 });
    expect(Number(row?.["cost_usd"])).toBeGreaterThan(0);
    // The upstream got the real key, never the client's token.
    const sent = fake.requests.at(-1);
    expect(sent?.headers["authorization"]).toBe(`Bearer ${OPENAI_KEY}`);
    expect(JSON.stringify(sent?.headers)).not.toContain(TOKEN);
  });

  it("enforces a per-user budget through the counters Durable Object", async () => {
    // Answers are held back until every request has been admitted or refused, then released
    // together: no settle (at the tiny real cost, which frees room) comes before a decision.
    // (A fixed 800 ms header delay lost that race on a loaded machine.)
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    fake.setDefault({ holdHeadersUntil: held, usage: { input: 10, output: 10 } });
    const body = { model: "gpt-budget", max_tokens: MAX_TOKENS, messages: [{ role: "user", content: "budget" }] };
    const forwardedBefore = fake.requests.length;
    let answered = 0;
    const pending = Array.from({ length: 8 }, () => chat(body).finally(() => answered++));
    let answers: Response[];
    try {
      // Decided: an admitted request reached the upstream (and waits there); a refused one was answered.
      await expect.poll(() => fake.requests.length - forwardedBefore + answered, { timeout: 60_000 }).toBe(8);
    } finally {
      release();
      answers = await Promise.all(pending);
      fake.setDefault({});
    }
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    const refused = answers.find((r) => r.status === 429) as Response;
    const error = (await refused.json()) as { error: { type: string; message: string } };
    expect(error.error.message).toMatch(/daily budget/);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    await Promise.all(answers.filter((r) => !r.bodyUsed).map((r) => r.text()));

    // The counters live in the Durable Object: it holds the settled spend (real cost, tiny).
    // Miniflare's proxies are typed with workers-types, which this project does not install.
    const ns = (await worker.mf.getDurableObjectNamespace("COUNTERS")) as unknown as DurableObjectNamespace;
    const stub = ns.get(ns.idFromName("global"));
    const day = new Date().toISOString().slice(0, 10);
    // As on Node, the dev token stands for dev@localhost, whose anonymous id lives in D1.
    const db = await worker.mf.getD1Database("DB");
    const dev = await db.prepare("select id from identities where email = ?").bind("dev@localhost").first<{ id: string }>();
    const devId = dev?.id ?? "";
    expect(devId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const key = `user:${devId}:d:${day}`;
    let used = Infinity;
    // Every settle is in by the time the reservations are gone (used drops below one estimate).
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && used > 0.01;) {
      const res = await stub.fetch(`https://counters/used?key=${encodeURIComponent(key)}`);
      used = ((await res.json()) as { usedUsd: number }).usedUsd;
      if (used > 0.01) await new Promise((r) => setTimeout(r, 50));
    }
    // What the object settled is what the ledger in D1 says this caller spent today.
    const spent = await db.prepare("select sum(cost_usd) as total, count(*) as n from ledger where caller_id = ? and day = ? and status = 200").bind(devId, day).first<{ total: number; n: number }>();
    expect(spent?.n).toBe(4);
    expect(used).toBeGreaterThan((3 * 20) / 1e6);
    expect(used).toBeCloseTo(spent?.total ?? -1, 12);
    // Settled at real cost, the budget has room again.
    fake.enqueue({});
    const again = await chat(body);
    expect(again.status).toBe(200);
    await again.text();
  });

  it("serves the discovery document without a token", async () => {
    const res = await fetch(`${worker.url}/.well-known/opencode`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { auth: { command: string[] }; config: { provider: Record<string, unknown> } };
    expect(doc.auth.command).toContain(worker.url);
    expect(Object.keys(doc.config.provider)).toContain("openai");
    expect(JSON.stringify(doc)).not.toContain(OPENAI_KEY);
  });

  it("refreshes the catalog from the cron trigger into KV", async () => {
    const kv = (await worker.mf.getKVNamespace("CACHE")) as unknown as { get(key: string): Promise<string | null> };
    expect(await kv.get("catalog:models-dev")).toBeNull();
    const res = await fetch(`${worker.url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("0 * * * *")}`);
    expect(res.status).toBe(200);
    await res.text();
    let stored: string | null = null;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && stored === null;) {
      stored = await kv.get("catalog:models-dev");
      if (stored === null) await new Promise((r) => setTimeout(r, 50));
    }
    expect(catalogFetches).toBe(1);
    expect(stored).toBe(snapshotText);
  });

  it("refuses a caller without the token in the provider's error shape", async () => {
    const res = await fetch(`${worker.url}/openai/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toBeTruthy();
  });
});
