import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgres } from "../../src/adapters/node/postgres.ts";
import type { Database } from "../../src/store/index.ts";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/index.ts";
import { chat, createSharedSigningKey, issueToken, KEYS, startGatewayProcess, TOKEN, writeConfig, type GatewayProcess } from "./gateway-process.ts";
import { startRestartableCluster, type RestartableCluster } from "./postgres.ts";

/**
 * What the gateway does when its PostgreSQL store fails (docs/deploy.md, "When the store
 * fails"), with real `serve` processes and a real PostgreSQL that is stopped and started:
 * a restart under load with budgets on, readiness, the reservations of a SIGKILLed
 * instance, and a shutdown while the store is down.
 */
let cluster: RestartableCluster;
let db: Kysely<Database>;
let fake: FakeUpstream;
const running: GatewayProcess[] = [];

beforeAll(async () => {
  cluster = await startRestartableCluster();
  db = openPostgres(cluster.url, { maxConnections: 2, logger: { debug() {}, info() {}, warn() {}, error() {} } });
  fake = await startFakeUpstream({ keys: KEYS });
}, 120_000);

afterAll(async () => {
  await Promise.all(running.map((g) => g.stop("SIGKILL")));
  await db?.destroy();
  await fake?.close();
  await cluster?.close();
});

const body = { model: "gpt-budget", max_tokens: 1_000, messages: [{ role: "user", content: "spend" }] };
/** The policy's estimate of one request: body bytes (1 byte per token) + max_tokens, at $1 per million tokens. */
const perRequest = (Buffer.byteLength(JSON.stringify(body)) + body.max_tokens) / 1e6;

function budgetConfig(dailyUsd: number, extra: string[] = []): string {
  return writeConfig(
    fake.url,
    ["pricing:", "  openai/gpt-budget: { input: 1, output: 1 }", "policy:", "  defaultGroup: dev", "  groups:", "    dev:", '      models: ["openai/*"]', `      budget: { perUser: { dailyUsd: ${dailyUsd.toFixed(6)} } }`, ...extra].join("\n"),
  );
}

async function start(configDir: string, env: Record<string, string> = {}, dataDir?: string): Promise<GatewayProcess> {
  const g = await startGatewayProcess(configDir, { DATABASE_URL: cluster.url, GATEHOUSE_LEDGER_FLUSH_MS: "100", ...env }, dataDir);
  running.push(g);
  return g;
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function readyz(g: GatewayProcess): Promise<{ status: number; body: { status: string; checks: Record<string, string> } }> {
  const res = await fetch(`${g.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, string> } };
}

interface Answer {
  status: number;
  id: string | null;
  retryAfter: string | null;
  text: string;
}

/** Requests at `concurrency` until `stop()` is called or `max` were sent; every answer is kept. */
function load(url: string, concurrency: number, max: number) {
  const answers: Answer[] = [];
  const errors: string[] = [];
  let stopped = false;
  let sent = 0;
  const worker = async () => {
    while (!stopped && sent < max) {
      sent++;
      try {
        const res = await chat(url, body);
        answers.push({ status: res.status, id: res.headers.get("x-gatehouse-request-id"), retryAfter: res.headers.get("retry-after"), text: await res.text() });
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, worker));
  return {
    answers,
    errors,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

async function ledgerIds(ids: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 1000) {
    const rows = await db
      .selectFrom("ledger")
      .select("request_id")
      .where("request_id", "in", ids.slice(i, i + 1000))
      .execute();
    for (const row of rows) counts.set(row.request_id, (counts.get(row.request_id) ?? 0) + 1);
  }
  return counts;
}

// Real processes and a real PostgreSQL restarted: generous per-test time on a loaded 2-core machine.
describe("the gateway when PostgreSQL fails", { timeout: 240_000 }, () => {
  it("survives a PostgreSQL restart under load with budgets on: 503s in OpenAI's shape during the outage, no crash, no row lost; /readyz follows the store", async () => {
    const g = await start(budgetConfig(1_000));
    expect((await readyz(g)).status).toBe(200);
    const traffic = load(g.url, 16, 20_000);
    // Some traffic before the restart, so sessions are mid-transaction when 57P01 arrives.
    expect(await waitFor(async () => traffic.answers.filter((a) => a.status === 200).length >= 200, 60_000)).toBe(true);
    await cluster.stop();
    const during = traffic.answers.length;
    expect(await waitFor(async () => traffic.answers.slice(during).some((a) => a.status === 503), 30_000)).toBe(true);
    const notReady = await readyz(g);
    expect(notReady.status).toBe(503);
    expect(notReady.body.status).toBe("not_ready");
    expect(notReady.body.checks["store"]).toMatch(/store unreachable|no answer/);
    expect(notReady.body.checks["catalog"]).toBe("ok");
    await new Promise((r) => setTimeout(r, 1_500));
    await cluster.start();
    const after = traffic.answers.length;
    expect(await waitFor(async () => traffic.answers.slice(after).filter((a) => a.status === 200).length >= 100, 60_000)).toBe(true);
    await traffic.stop();
    expect(await waitFor(async () => (await readyz(g)).status === 200, 30_000)).toBe(true);

    // The process lived through it.
    expect(g.child.exitCode).toBeNull();
    expect(traffic.errors).toEqual([]);
    const statuses = new Set(traffic.answers.map((a) => a.status));
    expect([...statuses].sort()).toEqual([200, 503]);
    const refused = traffic.answers.filter((a) => a.status === 503);
    for (const answer of refused.slice(0, 20)) {
      expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
      const error = (JSON.parse(answer.text) as { error: { message: string; type: string; code: string } }).error;
      expect(error.code).toBe("store_unavailable");
      expect(error.type).toBe("server_error");
      expect(error.message).toMatch(/cannot reach its store/);
    }

    // The refusals and the store's state are in /metrics (the dev token's groups include admin).
    const metrics = await (await fetch(`${g.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(metrics).toContain(`gatehouse_denials_total{provider="openai",reason="store_unavailable"} ${refused.length}`);
    expect(metrics).toContain("gatehouse_store_up 1");
    expect(metrics).toMatch(/gatehouse_ledger_dropped_rows_total 0\n/);
    expect(metrics).toMatch(/gatehouse_ledger_failed_writes_total [1-9]/);

    // A clean stop writes everything: every answered request has exactly one row.
    expect(await g.stop("SIGTERM")).toBe(0);
    const ids = traffic.answers.map((a) => a.id).filter((id): id is string => id !== null);
    expect(ids).toHaveLength(traffic.answers.length);
    const counts = await ledgerIds(ids);
    const missing = ids.filter((id) => counts.get(id) !== 1);
    expect(missing).toEqual([]);
    const outcomes = await db
      .selectFrom("ledger")
      .select(["status", (eb) => eb.fn.countAll<number>().as("n")])
      .where(
        "request_id",
        "in",
        refused.slice(0, 1000).map((a) => a.id as string),
      )
      .groupBy("status")
      .execute();
    expect(outcomes).toEqual([{ status: 503, n: Math.min(1000, refused.length) }]);
  });

  it("settles a SIGKILLed instance's reservations within the lease bound (at their estimate: no row was recorded), and says the budget is held until then", async () => {
    const leaseMs = 6_000;
    // Room for 2.5 requests: one in flight plus a double-size probe do not fit; one more small one does.
    const configDir = budgetConfig(perRequest * 2.5);
    const probe = { ...body, max_tokens: 2 * body.max_tokens + Buffer.byteLength(JSON.stringify(body)) };
    // A caller of its own (a token issued against the shared store), so no earlier test's spend counts.
    const env = { GATEHOUSE_RESERVATION_LEASE_MS: String(leaseMs), GATEHOUSE_SIGNING_KEY_FILE: await createSharedSigningKey() };
    const token = await issueToken({ DATABASE_URL: cluster.url, ...env }, "lease@example.com", ["dev"]);
    const [a, b] = await Promise.all([start(configDir, env), start(configDir, env)]);
    fake.enqueue({ endless: true, chunkDelayMs: 50 });
    const held = await chat(a.url, { ...body, stream: true }, undefined, token);
    expect(held.status).toBe(200);
    const reader = (held.body as ReadableStream<Uint8Array>).getReader();
    expect((await reader.read()).done).toBe(false);

    const denied = await chat(b.url, probe, undefined, token);
    expect(denied.status).toBe(429);
    const retryAfter = Number(denied.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(leaseMs / 1000);
    const message = ((await denied.json()) as { error: { message: string } }).error.message;
    expect(message).toMatch(/^Budget held: your daily budget/);
    expect(message).toContain("reserved by requests still in flight");
    expect(message).toContain(`settled within ${leaseMs / 1000}s`);
    expect(message).not.toContain("resets at");

    expect(await a.stop("SIGKILL")).toBeNull();
    await reader.read().catch(() => undefined);
    const killedAt = Date.now();
    let settledAfterMs = -1;
    let last = "";
    await waitFor(async () => {
      const res = await chat(b.url, probe, undefined, token);
      last = ((await res.json()) as { error?: { message: string } }).error?.message ?? String(res.status);
      if (last.startsWith("Budget reached")) settledAfterMs = Date.now() - killedAt;
      return settledAfterMs > 0;
    }, 60_000);
    expect(last).toMatch(/^Budget reached/);
    // The last heartbeat was at most a third of the lease before the kill.
    expect(settledAfterMs).toBeGreaterThan(0);
    expect(settledAfterMs).toBeLessThan(leaseMs + 4_000);
    // The stream had no ledger row (it never ended): its estimate is what it may have cost, and what is charged.
    const day = new Date().toISOString().slice(0, 10);
    const streamEstimate = (Buffer.byteLength(JSON.stringify({ ...body, stream: true })) + body.max_tokens) / 1e6;
    const counters = await db.selectFrom("budget_counters").select("settled_usd").where("key", "like", `user:%:d:${day}`).execute();
    expect(counters.map((c) => c.settled_usd.toFixed(9))).toContain(streamEstimate.toFixed(9));
    // What is left is the caller's: a request that fits the rest is served.
    const small = await chat(b.url, body, undefined, token);
    expect(small.status).toBe(200);
    await small.text();
    expect(await b.stop("SIGTERM")).toBe(0);
  });

  it("spools the rows a stopped PostgreSQL cannot take at shutdown, exits non-zero, and the next start writes them", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-faults-data-"));
    const configDir = writeConfig(fake.url);
    // No timed flush: only the shutdown can write these rows.
    const env = { GATEHOUSE_LEDGER_FLUSH_MS: "600000", GATEHOUSE_SHUTDOWN_FLUSH_MS: "1500" };
    const g = await start(configDir, env, dataDir);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await chat(g.url, { model: "gpt-4o-mini", messages: [{ role: "user", content: `row ${i}` }] });
      expect(res.status).toBe(200);
      await res.text();
      ids.push(res.headers.get("x-gatehouse-request-id") as string);
    }
    await cluster.stop();
    try {
      const code = await g.stop("SIGTERM");
      expect(code, g.output()).toBe(75);
      expect(g.output()).toMatch(/30 ledger rows could not be written to the store; they are spooled/);
      expect(readdirSync(join(dataDir, "ledger-spool")).length).toBe(1);
    } finally {
      await cluster.start();
    }
    expect((await ledgerIds(ids)).size).toBe(0);

    const next = await start(configDir, {}, dataDir);
    expect(await waitFor(async () => (await ledgerIds(ids)).size === ids.length, 30_000)).toBe(true);
    expect([...(await ledgerIds(ids)).values()].every((n) => n === 1)).toBe(true);
    expect(readdirSync(join(dataDir, "ledger-spool"))).toEqual([]);
    expect(await next.stop("SIGTERM")).toBe(0);
  });

  it("SIGTERM with a stream that never ends: at the drain deadline the answer ends with the provider's error event, its row written, exit 0", async () => {
    const drainMs = 1_500;
    const g = await start(writeConfig(fake.url), { GATEHOUSE_DRAIN_MS: String(drainMs) });
    fake.enqueue({ endless: true, chunkDelayMs: 50 });
    const stream = await chat(g.url, { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "forever" }] });
    expect(stream.status).toBe(200);
    const id = stream.headers.get("x-gatehouse-request-id") as string;
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    expect((await reader.read()).done).toBe(false);
    const started = Date.now();
    const exit = g.stop("SIGTERM");
    // The client keeps reading until the gateway ends the answer.
    const decoder = new TextDecoder();
    let tail = "";
    await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        tail = (tail + decoder.decode(value, { stream: true })).slice(-2000);
      }
    })();
    // A clean end in OpenAI's format, not a cut socket.
    expect(tail).toContain('"code":"upstream_stream_failed"');
    expect(tail).toContain("The gateway is shutting down");
    expect(await exit).toBe(0);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(drainMs - 100);
    expect(took).toBeLessThan(drainMs + 10_000);
    const rows = await db.selectFrom("ledger").select(["request_id", "outcome", "error_code"]).where("request_id", "=", id).execute();
    expect(rows).toEqual([{ request_id: id, outcome: "upstream_failed", error_code: "gateway_shutdown" }]);
  });

  it("storeOutage open: admits a user up to the allowance while PostgreSQL is down, then 503; the outage's spend reaches the shared counter afterwards", async () => {
    const allowanceRequests = 3;
    const configDir = budgetConfig(1_000, ["  storeOutage: { mode: open, retryAfterSeconds: 2, openAllowanceUsd: " + (perRequest * (allowanceRequests + 0.5)).toFixed(9) + " }"]);
    const env = { GATEHOUSE_SIGNING_KEY_FILE: await createSharedSigningKey() };
    const token = await issueToken({ DATABASE_URL: cluster.url, ...env }, "open-outage@example.com", ["dev"]);
    const g = await start(configDir, env);
    // Each request really costs its estimate, so the allowance holds a whole number of them.
    fake.setDefault({ usage: { input: Buffer.byteLength(JSON.stringify(body)), output: body.max_tokens } });
    // Known to the instance before the outage (its anonymous id is in the token; its budget was seen).
    const warm = await chat(g.url, body, undefined, token);
    expect(warm.status).toBe(200);
    await warm.text();
    await cluster.stop();
    const statuses: number[] = [];
    try {
      for (let i = 0; i < allowanceRequests + 3; i++) {
        const res = await chat(g.url, body, undefined, token);
        statuses.push(res.status);
        const text = await res.text();
        if (res.status === 503) expect(text).toContain("allowance while it is down");
      }
    } finally {
      fake.reset();
      await cluster.start();
    }
    expect(statuses).toEqual([...Array.from({ length: allowanceRequests }, () => 200), 503, 503, 503]);
    // Once PostgreSQL is back, the real cost of the outage's requests is added to the shared counter.
    const day = new Date().toISOString().slice(0, 10);
    const sub = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as { sub: string };
    const key = `user:${sub.sub}:d:${day}`;
    const reconciled = await waitFor(async () => {
      const row = await db.selectFrom("budget_counters").select("settled_usd").where("key", "=", key).executeTakeFirst();
      return row !== undefined && Math.abs(row.settled_usd - perRequest * (1 + allowanceRequests)) < 1e-9;
    }, 30_000);
    expect(reconciled).toBe(true);
    expect(await g.stop("SIGTERM")).toBe(0);
  });
});
