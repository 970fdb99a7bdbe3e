import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgres } from "../../src/adapters/node/postgres.ts";
import type { Database } from "../../src/store/index.ts";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/index.ts";
import { chat, createSharedSigningKey, issueToken, jwtClaims, KEYS, startGatewayProcess, writeConfig, type GatewayProcess } from "./gateway-process.ts";
import { startTestDatabase, type TestDatabase } from "./postgres.ts";

/**
 * Two `gatehouse serve` processes on one PostgreSQL database, and what a crash costs.
 * The ledger guarantee (docs/deploy.md):
 * - SIGTERM loses nothing: in-flight streams finish and are recorded, queued rows are flushed.
 * - SIGKILL loses at most the rows of requests that ended within the last flush interval
 *   (GATEHOUSE_LEDGER_FLUSH_MS) plus the request in flight, which has no row (it never
 *   ended). Rows already flushed are never lost, and no row is ever written twice.
 */
let database: TestDatabase;
let db: Kysely<Database>;
let fake: FakeUpstream;
let configDir: string;
/** What every instance of the deployment (and `gatehouse token issue`) gets: one store, one signing key. */
let shared: Record<string, string>;
/** Issued by `gatehouse token issue` against the shared store: every request in this file pays ES256 verification. */
let signed: string;
const running: GatewayProcess[] = [];

beforeAll(async () => {
  database = await startTestDatabase();
  db = openPostgres(database.url, { maxConnections: 2 });
  fake = await startFakeUpstream({ keys: KEYS });
  configDir = writeConfig(fake.url);
  shared = { DATABASE_URL: database.url, GATEHOUSE_SIGNING_KEY_FILE: await createSharedSigningKey() };
  signed = await issueToken(shared, "scale@example.com", ["dev"]);
}, 120_000);

afterAll(async () => {
  await Promise.all(running.map((g) => g.stop("SIGKILL")));
  await db?.destroy();
  await fake?.close();
  await database?.close();
});

async function start(env: Record<string, string>): Promise<GatewayProcess> {
  const g = await startGatewayProcess(configDir, { ...shared, ...env });
  running.push(g);
  return g;
}

/** A chat completion with the signed token. */
function call(url: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<Response> {
  return chat(url, body, signal, signed);
}

/** One completed request; returns its request id. */
async function complete(g: GatewayProcess, stream: boolean): Promise<string> {
  const res = await call(g.url, { model: "gpt-4o-mini", stream, messages: [{ role: "user", content: "hi" }] });
  expect(res.status).toBe(200);
  await res.text();
  const id = res.headers.get("x-gatehouse-request-id");
  if (!id) throw new Error("no request id");
  return id;
}

async function rowsFor(ids: readonly string[]) {
  if (ids.length === 0) return [];
  return db
    .selectFrom("ledger")
    .select(["request_id", "outcome", "output_tokens"])
    .where("request_id", "in", [...ids])
    .execute();
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Gateway processes on PostgreSQL: generous per-test time on a loaded 2-core machine.
describe("two gateway processes on one PostgreSQL", { timeout: 120_000 }, () => {
  it("SIGKILL mid-stream keeps every flushed row once; the other instance serves on and loses nothing on SIGTERM", async () => {
    const [a, b] = await Promise.all([start({ GATEHOUSE_LEDGER_FLUSH_MS: "100" }), start({ GATEHOUSE_LEDGER_FLUSH_MS: "100" })]);
    const fromA: string[] = [];
    const fromB: string[] = [];
    for (let i = 0; i < 10; i++) {
      fromA.push(await complete(a, i % 2 === 0));
      fromB.push(await complete(b, i % 2 === 1));
    }
    // A's rows are flushed (one flush interval) before the crash.
    await waitFor(async () => (await rowsFor(fromA)).length === fromA.length, 30_000);
    expect(await rowsFor(fromA)).toHaveLength(10);

    // A stream in flight on A when A is killed.
    fake.enqueue({ endless: true, chunkDelayMs: 20 });
    const inFlight = await call(a.url, { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "long" }] });
    expect(inFlight.status).toBe(200);
    const inFlightId = inFlight.headers.get("x-gatehouse-request-id") as string;
    const reader = (inFlight.body as ReadableStream<Uint8Array>).getReader();
    expect((await reader.read()).done).toBe(false);
    // B keeps serving while A dies.
    const during = Promise.all(Array.from({ length: 5 }, (_, i) => complete(b, i % 2 === 0)));
    expect(await a.stop("SIGKILL")).toBeNull();
    await expect(readToEnd(reader)).rejects.toThrow();
    fromB.push(...(await during));

    expect(await b.stop("SIGTERM")).toBe(0);

    const rows = await rowsFor([...fromA, ...fromB, inFlightId]);
    const counts = new Map<string, number>();
    for (const row of rows) counts.set(row.request_id, (counts.get(row.request_id) ?? 0) + 1);
    for (const id of [...fromA, ...fromB]) expect(counts.get(id), id).toBe(1);
    // The request in flight at the kill never ended, so it has no row (documented).
    expect(counts.get(inFlightId)).toBeUndefined();
    expect(rows.every((r) => r.outcome === "completed" && r.output_tokens > 0)).toBe(true);
  });

  it("holds one per-user budget across both instances: 200 parallel requests worth 50 admit exactly 50", async () => {
    const body = { model: "gpt-budget", max_tokens: 100_000, messages: [{ role: "user", content: "spend" }] };
    // The policy's estimate: body bytes (1 byte per token, an upper bound) + max_tokens, at $1 per million.
    const perRequest = (Buffer.byteLength(JSON.stringify(body)) + body.max_tokens) / 1e6;
    const policyDir = writeConfig(
      fake.url,
      ["pricing:", "  openai/gpt-budget: { input: 1, output: 1 }", "policy:", "  defaultGroup: dev", "  groups:", "    dev:", '      models: ["openai/*"]', `      budget: { perUser: { dailyUsd: ${(perRequest * 50.5).toFixed(6)} } }`].join("\n"),
    );
    const [c, d] = await Promise.all([startGatewayProcess(policyDir, shared), startGatewayProcess(policyDir, shared)]);
    running.push(c, d);
    // Answers are held back so most requests are decided while the others are outstanding,
    // and each really costs its estimate: however admissions and settles interleave (a slow
    // machine may settle the first answers before the last requests are decided), the budget
    // holds exactly 50, never 51.
    const usage = { input: Buffer.byteLength(JSON.stringify(body)), output: body.max_tokens };
    fake.setDefault({ headersDelayMs: 1500, usage });
    // Warm both instances up (pool connections, first reservation) with a request whose
    // estimate alone exceeds the budget: refused, nothing reserved, nothing spent.
    for (const g of [c, d]) {
      const warm = await call(g.url, { ...body, max_tokens: 1_000_000_000 });
      expect(warm.status).toBe(429);
      await warm.text();
    }
    try {
      const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => call(i % 2 ? c.url : d.url, body)));
      const bodies = await Promise.all(answers.map((r) => r.text()));
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(50);
      expect(statuses.filter((s) => s === 429)).toHaveLength(150);
      // Each instance got 100 requests: split limits would admit 50 on each (100 in total).
      // Both refused some with exactly 50 admitted in total, so each counted the other's
      // reservations. (How the 50 divide between them depends on scheduling: on a loaded
      // machine one instance may win them all, so no split is asserted.)
      const by = (url: string, status: number) => answers.filter((r, i) => r.status === status && (i % 2 ? c.url : d.url) === url).length;
      expect(by(c.url, 200) + by(d.url, 200)).toBe(50);
      expect(by(c.url, 429)).toBeGreaterThan(0);
      expect(by(d.url, 429)).toBeGreaterThan(0);
      const refusal = bodies[statuses.indexOf(429)] ?? "";
      expect(refusal).toMatch(/daily budget/);
    } finally {
      fake.reset();
    }
    expect(await c.stop("SIGTERM")).toBe(0);
    expect(await d.stop("SIGTERM")).toBe(0);
    // Real spend (settled) is in the shared counter and in the ledger.
    const day = new Date().toISOString().slice(0, 10);
    // Both processes verified the same token (sub = one anonymous id), so there is one user counter.
    const counters = await db.selectFrom("budget_counters").select(["key", "settled_usd"]).where("key", "like", `user:%:d:${day}`).execute();
    expect(counters).toHaveLength(1);
    const counter = counters[0] as { key: string; settled_usd: number };
    const callerId = counter.key.split(":")[1] ?? "";
    expect(callerId).toBe(jwtClaims(signed)["sub"]);
    const ledger = await db
      .selectFrom("ledger")
      .select((eb) => [eb.fn.sum<number>("cost_usd").as("total"), eb.fn.countAll<number>().as("n")])
      .where("model", "=", "gpt-budget")
      .where("status", "=", 200)
      .executeTakeFirstOrThrow();
    // The counter holds the caller's whole day (earlier tests' requests included, through reconciliation).
    const daySpend = await db
      .selectFrom("ledger")
      .select((eb) => eb.fn.sum<number>("cost_usd").as("total"))
      .where("caller_id", "=", callerId)
      .where("day", "=", day)
      .executeTakeFirstOrThrow();
    expect(counter.settled_usd).toBeCloseTo(daySpend.total, 12);
    // 50 answers, each costing its estimate.
    expect(ledger.n).toBe(50);
    expect(ledger.total).toBeCloseTo(50 * perRequest, 12);
  });

  it("verifies a token issued against the shared store on both instances and holds one per-user rate limit across them", async () => {
    const N = 6;
    const rateDir = writeConfig(fake.url, ["policy:", "  groups:", "    rl:", '      models: ["openai/*"]', `      rateLimit: { perUser: { requestsPerMinute: ${N} } }`].join("\n"));
    const [c, d] = await Promise.all([startGatewayProcess(rateDir, shared), startGatewayProcess(rateDir, shared)]);
    running.push(c, d);
    // Issued by the CLI, as an operator would: neither instance issued it, both must accept it.
    const token = await issueToken(shared, "rate@example.com", ["rl"]);
    const callerId = jwtClaims(token)["sub"];
    expect(typeof callerId).toBe("string");
    // A token signed with another key (an instance with its own key file) is refused by both.
    const foreign = await issueToken({ ...shared, GATEHOUSE_SIGNING_KEY_FILE: await createSharedSigningKey() }, "rate@example.com", ["rl"]);
    for (const g of [c, d]) {
      const refused = await chat(g.url, { model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }, undefined, foreign);
      expect(refused.status).toBe(401);
      await refused.text();
    }

    const body = { model: "gpt-4o-mini", messages: [{ role: "user", content: "rate" }] };
    // N requests spread over both instances, all in flight together: all pass.
    const first = await Promise.all(Array.from({ length: N }, (_, i) => chat(i % 2 ? c.url : d.url, body, undefined, token)));
    await Promise.all(first.map((r) => r.text()));
    expect(first.map((r) => r.status)).toEqual(Array.from({ length: N }, () => 200));
    // The (N+1)th, on either instance, is refused in OpenAI's error shape with retry-after.
    for (const g of [c, d]) {
      const over = await chat(g.url, body, undefined, token);
      expect(over.status).toBe(429);
      const retryAfter = Number(over.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(120);
      const error = (await over.json()) as { error: { message: string; type: string } };
      expect(error.error.message).toContain(`your requests per minute (${N})`);
      expect(typeof error.error.type).toBe("string");
    }
    expect(fake.requests.filter((r) => r.bodyText.includes('"content":"rate"')).length).toBe(N);

    expect(await c.stop("SIGTERM")).toBe(0);
    expect(await d.stop("SIGTERM")).toBe(0);
    // Both instances recorded the admitted requests under the token's anonymous id.
    const rows = await db
      .selectFrom("ledger")
      .select(["caller_id", "status"])
      .where("caller_id", "=", callerId as string)
      .execute();
    expect(rows.filter((r) => r.status === 200)).toHaveLength(N);
    // The window lives in PostgreSQL: one row for this caller's requests-per-minute key holds all N.
    const windows = await db
      .selectFrom("rate_windows")
      .select(["key", "amount"])
      .where("key", "=", `user:${callerId as string}:rpm`)
      .execute();
    expect(windows.reduce((sum, w) => sum + Number(w.amount), 0)).toBe(N);
  });

  it("SIGTERM finishes streams in flight and flushes every queued row", async () => {
    // No timed flush: only the shutdown flush can write these rows.
    const c = await start({ GATEHOUSE_LEDGER_FLUSH_MS: "600000" });
    const done: string[] = [];
    for (let i = 0; i < 5; i++) done.push(await complete(c, i % 2 === 0));
    expect(await rowsFor(done)).toHaveLength(0);

    fake.enqueue({ chunks: 15, chunkDelayMs: 40 });
    fake.enqueue({ chunks: 15, chunkDelayMs: 40 });
    const streams = await Promise.all([0, 1].map(() => call(c.url, { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "go" }] })));
    const streamIds = streams.map((s) => s.headers.get("x-gatehouse-request-id") as string);
    const readers = streams.map((s) => (s.body as ReadableStream<Uint8Array>).getReader());
    for (const r of readers) expect((await r.read()).done).toBe(false);

    const exit = c.stop("SIGTERM");
    const bodies = await Promise.all(readers.map((r) => readToEnd(r)));
    for (const text of bodies) expect(text).toContain("data: [DONE]");
    expect(await exit).toBe(0);

    const rows = await rowsFor([...done, ...streamIds]);
    expect(rows.map((r) => r.request_id).sort()).toEqual([...done, ...streamIds].sort());
    expect(rows.every((r) => r.outcome === "completed")).toBe(true);
  });
});

async function readToEnd(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += decoder.decode(value, { stream: true });
  }
}
