import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kysely, sql } from "kysely";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore } from "../../src/adapters/node/postgres.ts";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { D1Dialect } from "../../src/adapters/workers/d1-dialect.ts";
import { migrateD1 } from "../../src/adapters/workers/migrate-d1.ts";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { listRequests, requestDetail, type PageKey, type RequestFilters } from "../../src/dashboard/request-log-queries.ts";
import { CaptureWriter } from "../../src/proxy/index.ts";
import { migrateToLatest, type Database } from "../../src/store/index.ts";
import { startTestDatabase, type TestDatabase } from "../scale/postgres.ts";
import { WORKER_COMPATIBILITY_DATE } from "../scale/workerd.ts";
import { CALLERS, ledgerSeedRows } from "./seed.ts";
import { FALLBACK_ID, HOSTILE, requestLogRows, serviceAccountRows } from "./request-log-seed.ts";

// The request log's filters and pages, and the capture table's writes and retention, on each
// store the gateway runs on: the embedded SQLite, PostgreSQL (a real server) and D1
// (Miniflare's workerd SQLite, through the Worker's own dialect). Each filter's rows equal
// plain SQL over the same rows in the same store.

const today = new Date().toISOString().slice(0, 10);
const dayStart = (n: number) => Date.parse(`${today}T00:00:00Z`) - n * 86_400_000;

let dir: string;
let sqliteDb: Kysely<Database>;
let pgDatabase: TestDatabase;
let pgDb: Kysely<Database>;
let mf: Miniflare;
let d1Db: Kysely<Database>;

async function seed(db: Kysely<Database>): Promise<void> {
  const rows = [...ledgerSeedRows(today, 14, 300), ...requestLogRows(today)];
  // Three rows a statement: D1 binds at most 100 values.
  for (let i = 0; i < rows.length; i += 3)
    await db
      .insertInto("ledger")
      .values(rows.slice(i, i + 3))
      .execute();
  for (const sa of serviceAccountRows(today)) await db.insertInto("service_accounts").values(sa).execute();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-requestlog-"));
  sqliteDb = openSqlite(join(dir, "gatehouse.db"));
  await migrateToLatest(sqliteDb);
  pgDatabase = await startTestDatabase();
  pgDb = await openPostgresStore(pgDatabase.url);
  mf = new Miniflare({ modules: true, script: "export default { fetch() { return new Response(null, { status: 204 }); } };", compatibilityDate: WORKER_COMPATIBILITY_DATE, d1Databases: { DB: "request-log-test" } });
  d1Db = new Kysely<Database>({ dialect: new D1Dialect(await mf.getD1Database("DB")) });
  await migrateD1(d1Db);
  await Promise.all([seed(sqliteDb), seed(pgDb), seed(d1Db)]);
}, 180_000);

afterAll(async () => {
  await sqliteDb?.destroy();
  await pgDb?.destroy();
  await pgDatabase?.close();
  await mf?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const dialects = [
  { name: "SQLite", db: () => sqliteDb },
  { name: "PostgreSQL", db: () => pgDb },
  { name: "D1 (Miniflare)", db: () => d1Db },
];

/** A filter and the same condition in plain SQL (constants inlined: they are this test's own). */
const CASES: Array<{ name: string; filters: RequestFilters; where: string }> = [
  { name: "all", filters: {}, where: "1 = 1" },
  { name: "time range", filters: { since: dayStart(5) + 6 * 3_600_000, until: dayStart(1) }, where: `l.ts >= ${dayStart(5) + 6 * 3_600_000} and l.ts < ${dayStart(1)}` },
  { name: "user", filters: { caller: CALLERS[4] ?? "" }, where: `l.caller_id = '${CALLERS[4] ?? ""}'` },
  { name: "service account", filters: { serviceAccount: "batch-job" }, where: "sa.name = 'batch-job'" },
  { name: "people", filters: { callerKind: "person" }, where: "sa.id is null" },
  { name: "service accounts", filters: { callerKind: "service" }, where: "sa.id is not null" },
  { name: "model or alias", filters: { model: "smart" }, where: "(l.model = 'smart' or l.requested_model = 'smart')" },
  { name: "hostile model", filters: { model: HOSTILE.model }, where: `l.model = '${HOSTILE.model.replace(/'/g, "''")}'` },
  { name: "provider", filters: { provider: "openai" }, where: "l.provider = 'openai'" },
  { name: "outcome", filters: { outcome: "upstream_failed" }, where: "l.outcome = 'upstream_failed'" },
  { name: "status class", filters: { status: { min: 400, max: 499 } }, where: "l.status >= 400 and l.status <= 499" },
  { name: "min cost", filters: { minCostUsd: 0.03 }, where: "l.cost_usd >= 0.03" },
  { name: "client", filters: { client: "opencode" }, where: "l.client = 'opencode'" },
  { name: "combined", filters: { provider: "anthropic", outcome: "completed", minCostUsd: 0.01, until: dayStart(2) }, where: `l.provider = 'anthropic' and l.outcome = 'completed' and l.cost_usd >= 0.01 and l.ts < ${dayStart(2)}` },
];

async function plain(db: Kysely<Database>, where: string): Promise<string[]> {
  const result = await sql<{ id: string }>`select l.request_id as id from ledger l left join service_accounts sa on sa.id = l.caller_id where ${sql.raw(where)} order by l.ts desc, l.request_id desc`.execute(db);
  return result.rows.map((r) => r.id);
}

async function everyPage(db: Kysely<Database>, filters: RequestFilters, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let after: PageKey | undefined;
  for (let guard = 0; guard < 1000; guard++) {
    const page = await listRequests(db, filters, after, limit);
    ids.push(...page.rows.map((r) => r.requestId));
    if (!page.next) return ids;
    after = page.next;
  }
  throw new Error("paging did not end");
}

describe.each(dialects)("request log on $name", ({ db }) => {
  it.each(CASES)("filter $name: every page together equals plain SQL", async ({ filters, where }) => {
    const want = await plain(db(), where);
    expect(want.length).toBeGreaterThan(0);
    expect(await everyPage(db(), filters, 37)).toEqual(want);
  });

  it("a row's detail: its columns as stored, its service account's name, no bodies", async () => {
    const detail = await requestDetail(db(), FALLBACK_ID);
    expect(detail?.row).toMatchObject({ request_id: FALLBACK_ID, requested_model: "smart", model: "claude-opus-4-1" });
    expect(Number(detail?.row["attempts"])).toBe(2);
    expect(Number(detail?.row["cache_write_1h_tokens"])).toBe(120);
    expect(detail?.bodies).toBeUndefined();
    expect(await requestDetail(db(), "nope")).toBeUndefined();
    const sa = await listRequests(db(), { serviceAccount: "ci-reviewer" }, undefined, 1);
    expect(sa.rows[0]?.serviceAccount).toBe("ci-reviewer");
  });

  it("captured bodies: written in batches (more than a D1 statement binds), read back, deleted past the retention", async () => {
    const now = Date.now();
    const writer = new CaptureWriter({ db: db(), clock: systemClock, logger: silentLogger, retentionMs: () => 3_600_000, knownSecrets: () => [], flushMs: 60_000, pruneEveryMs: 3_600_000 });
    const bytes = (s: string) => new TextEncoder().encode(s);
    for (let i = 0; i < 20; i++) {
      writer.enqueue({ requestId: `cap-${i}`, ts: i < 5 ? now - 2 * 3_600_000 : now, maxBytes: 1024, request: { head: bytes(`{"api_key":"sk-abcdefghijklmnop${i}"}`), total: 40 }, response: { head: bytes("ok"), total: 2 } });
    }
    await writer.flush();
    expect(writer.written).toBe(20);
    const back = await db().selectFrom("captured_bodies").selectAll().where("request_id", "=", "cap-7").executeTakeFirstOrThrow();
    expect(back.request_body).toBe('{"api_key":"[REDACTED]"}');
    expect(Number(back.redactions)).toBe(1);
    // The writer's first round also pruned: the five rows past the retention are gone, the rest stay.
    const left = await db().selectFrom("captured_bodies").select("request_id").where("request_id", "like", "cap-%").execute();
    expect(left.map((r) => r.request_id).sort()).toEqual(Array.from({ length: 15 }, (_, i) => `cap-${i + 5}`).sort());
    // A row that ages past the retention goes at the next prune.
    await db()
      .updateTable("captured_bodies")
      .set({ ts: now - 3_600_001 })
      .where("request_id", "=", "cap-9")
      .execute();
    expect(await writer.prune()).toBe(1);
    expect(await db().selectFrom("captured_bodies").select("request_id").where("request_id", "=", "cap-9").executeTakeFirst()).toBeUndefined();
    await writer.close();
  });
});
