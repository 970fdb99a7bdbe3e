import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgres } from "../../src/adapters/node/postgres.ts";
import type { Database } from "../../src/store/index.ts";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/index.ts";
import { chat, KEYS, startGatewayProcess, writeConfig, type GatewayProcess } from "./gateway-process.ts";
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
const running: GatewayProcess[] = [];

beforeAll(async () => {
  database = await startTestDatabase();
  db = openPostgres(database.url, { maxConnections: 2 });
  fake = await startFakeUpstream({ keys: KEYS });
  configDir = writeConfig(fake.url);
}, 120_000);

afterAll(async () => {
  await Promise.all(running.map((g) => g.stop("SIGKILL")));
  await db?.destroy();
  await fake?.close();
  await database?.close();
});

async function start(env: Record<string, string>): Promise<GatewayProcess> {
  const g = await startGatewayProcess(configDir, { DATABASE_URL: database.url, ...env });
  running.push(g);
  return g;
}

/** One completed request; returns its request id. */
async function complete(g: GatewayProcess, stream: boolean): Promise<string> {
  const res = await chat(g.url, { model: "gpt-4o-mini", stream, messages: [{ role: "user", content: "hi" }] });
  expect(res.status).toBe(200);
  await res.text();
  const id = res.headers.get("x-gatehouse-request-id");
  if (!id) throw new Error("no request id");
  return id;
}

async function rowsFor(ids: readonly string[]) {
  if (ids.length === 0) return [];
  return db.selectFrom("ledger").select(["request_id", "outcome", "output_tokens"]).where("request_id", "in", [...ids]).execute();
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("two gateway processes on one PostgreSQL", () => {
  it("SIGKILL mid-stream keeps every flushed row once; the other instance serves on and loses nothing on SIGTERM", async () => {
    const [a, b] = await Promise.all([start({ GATEHOUSE_LEDGER_FLUSH_MS: "100" }), start({ GATEHOUSE_LEDGER_FLUSH_MS: "100" })]);
    const fromA: string[] = [];
    const fromB: string[] = [];
    for (let i = 0; i < 10; i++) {
      fromA.push(await complete(a, i % 2 === 0));
      fromB.push(await complete(b, i % 2 === 1));
    }
    // A's rows are flushed (one flush interval) before the crash.
    await waitFor(async () => (await rowsFor(fromA)).length === fromA.length, 5_000);
    expect(await rowsFor(fromA)).toHaveLength(10);

    // A stream in flight on A when A is killed.
    fake.enqueue({ endless: true, chunkDelayMs: 20 });
    const inFlight = await chat(a.url, { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "long" }] });
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

  it("SIGTERM finishes streams in flight and flushes every queued row", async () => {
    // No timed flush: only the shutdown flush can write these rows.
    const c = await start({ GATEHOUSE_LEDGER_FLUSH_MS: "600000" });
    const done: string[] = [];
    for (let i = 0; i < 5; i++) done.push(await complete(c, i % 2 === 0));
    expect(await rowsFor(done)).toHaveLength(0);

    fake.enqueue({ chunks: 15, chunkDelayMs: 40 });
    fake.enqueue({ chunks: 15, chunkDelayMs: 40 });
    const streams = await Promise.all([0, 1].map(() => chat(c.url, { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "go" }] })));
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
