import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgres, openPostgresStore } from "../../src/adapters/node/postgres.ts";
import { PostgresCounterStore } from "../../src/adapters/node/cluster/pg-counters.ts";
import { PostgresRateLimiter } from "../../src/adapters/node/cluster/pg-rate-limiter.ts";
import { tryAcquireLease } from "../../src/adapters/node/cluster/lease.ts";
import { ClusterSync, CONFIG_SNAPSHOT } from "../../src/adapters/node/cluster/sync.ts";
import { snapshotHead } from "../../src/adapters/node/cluster/snapshots.ts";
import { ConfigHolder, orgConfigSchema } from "../../src/config/index.ts";
import { createBundledCatalog, bundledSnapshot } from "../../src/catalog/index.ts";
import { silentLogger } from "../../src/core/logger.ts";
import type { Clock } from "../../src/core/clock.ts";
import { AnonymousIds } from "../../src/identity/index.ts";
import { BatchedLedgerWriter, type LedgerRow } from "../../src/ledger/index.ts";
import type { BudgetClaim } from "../../src/policy/counters.ts";
import type { Database } from "../../src/store/index.ts";
import { startTestDatabase, type TestDatabase } from "./postgres.ts";

// Two pools stand for two gateway processes: separate connections, one database.
let database: TestDatabase;
let a: Kysely<Database>;
let b: Kysely<Database>;

beforeAll(async () => {
  database = await startTestDatabase();
  // Three instances starting at once must not trip over each other's migrations.
  const opened = await Promise.all([openPostgresStore(database.url), openPostgresStore(database.url), openPostgresStore(database.url)]);
  a = opened[0];
  b = opened[1];
  await opened[2].destroy();
}, 120_000);

afterAll(async () => {
  await a?.destroy();
  await b?.destroy();
  await database?.close();
});

class FakeClock implements Clock {
  constructor(public t = Date.UTC(2026, 10, 24, 12, 0, 0)) {}
  now(): number {
    return this.t;
  }
  monotonic(): number {
    return this.t;
  }
}

function ledgerRow(requestId: string, cost: number): LedgerRow {
  const ts = Date.UTC(2026, 10, 24, 10, 0, 0);
  return {
    request_id: requestId,
    ts,
    day: "2026-11-24",
    caller_id: "c1",
    team: null,
    provider: "openai",
    model: "gpt-x",
    endpoint: "chat",
    streamed: 1,
    status: 200,
    outcome: "completed",
    input_tokens: 12,
    output_tokens: 34,
    cache_read_tokens: 0,
    cache_write_5m_tokens: 0,
    cache_write_1h_tokens: 0,
    reasoning_tokens: 0,
    cost_usd: cost,
    unpriced: 0,
    upstream_latency_ms: 1.5,
    ttfb_ms: 2.5,
    duration_ms: 10,
    error_code: null,
    requested_model: "gpt-x",
    attempts: 1,
    estimated: 0,
  };
}

// PostgreSQL round trips: generous per-test time on a loaded 2-core machine.
describe("PostgreSQL store shared by two instances", { timeout: 120_000 }, () => {
  it("applied every migration once and returns bigint columns as numbers", async () => {
    const applied = await a
      .selectFrom("kysely_migration" as never)
      .selectAll()
      .execute();
    const names = (applied as Array<{ name: string }>).map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain("005_cluster");

    const writer = new BatchedLedgerWriter(a, { flushMs: 10, batchSize: 100, logger: silentLogger });
    writer.record(ledgerRow("req-types", 0.25));
    await writer.close();
    const row = await b.selectFrom("ledger").selectAll().where("request_id", "=", "req-types").executeTakeFirstOrThrow();
    expect(typeof row.ts).toBe("number");
    expect(row.ts).toBe(Date.UTC(2026, 10, 24, 10, 0, 0));
    expect(row.cost_usd).toBe(0.25);
    const total = await b
      .selectFrom("ledger")
      .select((eb) => [eb.fn.sum<number>("input_tokens").as("tokens"), eb.fn.countAll<number>().as("n")])
      .executeTakeFirstOrThrow();
    expect(total).toEqual({ tokens: 12, n: 1 });
  });

  it("keeps one ledger row per request id when two instances flush the same rows", async () => {
    const rows = Array.from({ length: 40 }, (_, i) => ledgerRow(`dup-${i}`, 0.01));
    const wa = new BatchedLedgerWriter(a, { flushMs: 5, batchSize: 7, logger: silentLogger });
    const wb = new BatchedLedgerWriter(b, { flushMs: 5, batchSize: 7, logger: silentLogger });
    for (const row of rows) {
      wa.record(row);
      wb.record({ ...row });
    }
    await Promise.all([wa.close(), wb.close()]);
    const count = await a
      .selectFrom("ledger")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("request_id", "like", "dup-%")
      .executeTakeFirstOrThrow();
    expect(count.n).toBe(40);
  });

  it("gives an email one anonymous id even when both instances see it first at the same moment", async () => {
    const clock = new FakeClock();
    const emails = Array.from({ length: 25 }, (_, i) => `Person${i}@Example.com`);
    for (let round = 0; round < 3; round++) {
      // Fresh caches each round: every call goes to the database.
      const ia = new AnonymousIds(a, clock);
      const ib = new AnonymousIds(b, clock);
      const [fromA, fromB] = await Promise.all([Promise.all(emails.map((e) => ia.idFor(e))), Promise.all(emails.map((e) => ib.idFor(e.toLowerCase())))]);
      expect(fromA).toEqual(fromB);
      expect(new Set(fromA).size).toBe(emails.length);
    }
    const stored = await a
      .selectFrom("identities")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("email", "like", "person%@example.com")
      .executeTakeFirstOrThrow();
    expect(stored.n).toBe(emails.length);
  });

  it("never grants more budget than the limit across two instances reserving at once", async () => {
    const clock = new FakeClock();
    const sa = new PostgresCounterStore(a, { clock, logger: silentLogger });
    const sb = new PostgresCounterStore(b, { clock, logger: silentLogger });
    const claims: BudgetClaim[] = [
      { key: "user:u1:d:2026-11-24", limitUsd: 1, resetsAt: 0, label: "daily" },
      { key: "group:eng:d:2026-11-24", limitUsd: 5, resetsAt: 0, label: "group daily" },
    ];
    // 120 requests of $0.02 against $1.00: exactly 50 fit, however they interleave.
    const outcomes = await Promise.all(Array.from({ length: 120 }, (_, i) => (i % 2 ? sa : sb).reserve(claims, 0.02)));
    const granted = outcomes.filter((o) => o.ok);
    expect(granted).toHaveLength(50);
    const denied = outcomes.find((o) => !o.ok);
    expect(denied && !denied.ok ? denied.claim.key : "").toBe("user:u1:d:2026-11-24");
    expect(await sa.read("user:u1:d:2026-11-24")).toBeCloseTo(1, 9);

    // Settling at half the estimate frees the rest for either instance.
    await Promise.all(granted.map(async (o, i) => (o.ok ? (i % 2 ? sb : sa).settle(o.reservation, 0.01) : undefined)));
    expect(await sb.read("user:u1:d:2026-11-24")).toBeCloseTo(0.5, 9);
    expect(await sb.read("group:eng:d:2026-11-24")).toBeCloseTo(0.5, 9);
    const more = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? sa : sb).reserve(claims, 0.02)));
    expect(more.filter((o) => o.ok)).toHaveLength(25);
  });

  it("charges the reservations of an instance that died at their estimate once they lapse, corrects a late settle, and reconciles upwards only", async () => {
    const clock = new FakeClock();
    const dead = new PostgresCounterStore(a, { clock, logger: silentLogger, reservationTtlMs: 60_000 });
    const alive = new PostgresCounterStore(b, { clock, logger: silentLogger, reservationTtlMs: 60_000 });
    const claims: BudgetClaim[] = [{ key: "user:u2:d:2026-11-24", limitUsd: 1, resetsAt: 0, label: "daily" }];
    expect((await dead.reserve(claims, 0.6)).ok).toBe(true);
    const held = await alive.reserve(claims, 0.5);
    expect(held.ok).toBe(false);
    // The refusal says the budget is held by a reservation, and for how long at most.
    expect(held.ok ? undefined : { reserved: held.reservedUsd, bound: held.reservationBoundMs }).toEqual({ reserved: 0.6, bound: 60_000 });
    clock.t += 60_001;
    // Lapsed: the request may have been served, so its estimate now counts as spent (fail closed), not freed.
    expect((await alive.reserve(claims, 0.5)).ok).toBe(false);
    const after = await alive.reserve(claims, 0.3);
    expect(after.ok).toBe(true);
    if (after.ok) await alive.settle(after.reservation, 0.3);
    expect(await alive.read("user:u2:d:2026-11-24")).toBeCloseTo(0.9, 9);

    // Nothing in flight: raised to the ledger, never lowered.
    await alive.reconcile(new Map([["user:u2:d:2026-11-24", 0.95]]));
    expect(await alive.read("user:u2:d:2026-11-24")).toBeCloseTo(0.95, 9);
    await alive.reconcile(new Map([["user:u2:d:2026-11-24", 0.1]]));
    expect(await alive.read("user:u2:d:2026-11-24")).toBeCloseTo(0.95, 9);
  });

  it("replaces the charged estimate with the real cost when a lapsed reservation is settled after all (a partitioned instance)", async () => {
    const clock = new FakeClock();
    const slow = new PostgresCounterStore(a, { clock, logger: silentLogger, reservationTtlMs: 10_000 });
    const other = new PostgresCounterStore(b, { clock, logger: silentLogger, reservationTtlMs: 10_000 });
    const key = "user:u5:d:2026-11-24";
    const claims: BudgetClaim[] = [{ key, limitUsd: 1, resetsAt: 0, label: "daily" }];
    const first = await slow.reserve(claims, 0.5);
    if (!first.ok) throw new Error("refused");
    clock.t += 10_001;
    // Another instance charges the lapsed reservation while reserving.
    expect((await other.reserve(claims, 0.1)).ok).toBe(true);
    expect(await other.read(key)).toBeCloseTo(0.6, 9);
    // A late heartbeat does not bring the charged reservation back.
    await slow.heartbeat();
    expect(await other.read(key)).toBeCloseTo(0.6, 9);
    // The request really cost $0.20: the estimate charged ($0.50) is replaced.
    await slow.settle(first.reservation, 0.2);
    expect(await other.read(key)).toBeCloseTo(0.3, 9);
  });

  it("charges a lapsed reservation its ledger row's real cost when the row was written (the instance died after answering)", async () => {
    const clock = new FakeClock();
    const died = new PostgresCounterStore(a, { clock, logger: silentLogger, reservationTtlMs: 10_000 });
    const other = new PostgresCounterStore(b, { clock, logger: silentLogger, reservationTtlMs: 10_000 });
    const key = "user:c1:d:2026-11-24";
    const claims: BudgetClaim[] = [{ key, limitUsd: 5, resetsAt: 0, label: "daily" }];
    const answered = await died.reserve(claims, 1, "req-answered-then-killed");
    const inFlight = await died.reserve(claims, 1, "req-in-flight-at-kill");
    expect(answered.ok && inFlight.ok).toBe(true);
    // Its row reached the ledger; its settle did not run (the process was killed).
    await a.insertInto("ledger").values(ledgerRow("req-answered-then-killed", 0.25)).execute();
    clock.t += 10_001;
    expect((await other.reserve(claims, 0.5)).ok).toBe(true);
    // $0.25 (its row) + $1 (no row: the estimate) + the new reservation.
    expect(await other.read(key)).toBeCloseTo(1.75, 9);
  });

  it("never counts a cost twice when the ledger already holds a row whose settle is still in flight", async () => {
    const clock = new FakeClock();
    const sa = new PostgresCounterStore(a, { clock, logger: silentLogger });
    const sb = new PostgresCounterStore(b, { clock, logger: silentLogger });
    const key = "user:u4:d:2026-11-24";
    const claims: BudgetClaim[] = [{ key, limitUsd: 10, resetsAt: 0, label: "daily" }];
    const first = await sa.reserve(claims, 1);
    if (!first.ok) throw new Error("first reservation refused");
    await sa.settle(first.reservation, 0.5);
    // A second request on A ended: its row ($0.25) is in the ledger, its settle not done yet.
    const second = await sa.reserve(claims, 1);
    if (!second.ok) throw new Error("second reservation refused");
    // B reconciles with the ledger's total, which already holds the second row.
    await sb.reconcile(new Map([[key, 0.75]]));
    await sa.settle(second.reservation, 0.25);
    expect(await sb.read(key)).toBeCloseTo(0.75, 9);
    // With nothing in flight, reconciliation raises the counter to the ledger (rows settled nowhere).
    await sb.reconcile(new Map([[key, 0.8]]));
    expect(await sb.read(key)).toBeCloseTo(0.8, 9);
  });

  it("holds a requests-per-minute limit across two instances", async () => {
    const ra = new PostgresRateLimiter(a, silentLogger);
    const rb = new PostgresRateLimiter(b, silentLogger);
    const now = Date.UTC(2026, 10, 24, 12, 0, 30);
    const claim = { key: "user:u3:rpm", limit: 10, amount: 1, label: "your requests per minute" };
    const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? ra : rb).take([claim], now)));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(10);
    const refused = outcomes.find((o) => !o.ok);
    expect(refused && !refused.ok ? refused.retryAfterSeconds : 0).toBeGreaterThanOrEqual(1);
    // Half of the previous minute still weighs 30 s into the next one: 10 * 0.5 = 5 left.
    const next = await Promise.all(Array.from({ length: 10 }, () => ra.take([claim], now + 60_000)));
    expect(next.filter((o) => o.ok)).toHaveLength(5);
  });

  it("gives a lease to exactly one instance per expiry", async () => {
    const now = Date.UTC(2026, 10, 24, 12, 0, 0);
    const first = await Promise.all(Array.from({ length: 8 }, (_, i) => tryAcquireLease(i % 2 ? a : b, "job", `i${i}`, now, 1000)));
    expect(first.filter(Boolean)).toHaveLength(1);
    const again = await Promise.all(Array.from({ length: 8 }, (_, i) => tryAcquireLease(i % 2 ? a : b, "job", `i${i}`, now + 999, 1000)));
    expect(again.filter(Boolean)).toHaveLength(0);
    const later = await Promise.all(Array.from({ length: 8 }, (_, i) => tryAcquireLease(i % 2 ? a : b, "job", `i${i}`, now + 1000, 1000)));
    expect(later.filter(Boolean)).toHaveLength(1);
  });

  it("refreshes the catalog once per interval cluster-wide and carries config changes to every instance", async () => {
    const clock = new FakeClock();
    let fetches = 0;
    const catalogText = JSON.stringify(bundledSnapshot);
    const fetchFn: typeof fetch = async () => {
      fetches++;
      return new Response(catalogText, { status: 200, headers: { "content-type": "application/json" } });
    };
    const configA = new ConfigHolder(orgConfigSchema.parse({ providers: { openai: { upstream: "http://127.0.0.1:1/v1" } } }));
    const configB = new ConfigHolder(orgConfigSchema.parse({ providers: { openai: { upstream: "http://127.0.0.1:1/v1" } } }));
    const catalogA = createBundledCatalog();
    const catalogB = createBundledCatalog();
    const common = { clock, logger: silentLogger, pollMs: 60_000, catalogRefreshMs: 3_600_000, catalogUrl: "https://models.example/api.json", fetchFn };
    // A's publish of a changed config runs from the change listener (replace does not await it): its log line is the event to wait for.
    const publishedByA: Array<() => void> = [];
    const hearA = (_fields: Record<string, unknown>, message: string): void => {
      if (message === "org config published to the cluster") for (const resolve of publishedByA.splice(0)) resolve();
    };
    const loggerA = { debug: hearA, info: hearA, warn: hearA, error: hearA };
    const syncA = new ClusterSync({ ...common, logger: loggerA, db: a, config: configA, catalog: catalogA, instanceId: "a" });
    const syncB = new ClusterSync({ ...common, db: b, config: configB, catalog: catalogB, instanceId: "b" });
    await Promise.all([syncA.start(), syncB.start()]);
    // Overlapping rounds of one instance join each other; a later round finds nothing new.
    await Promise.all([syncA.tick(), syncB.tick(), syncA.tick()]);
    await Promise.all([syncA.tick(), syncB.tick()]);
    expect(fetches).toBe(1);
    // The instance that did not fetch loaded the published document, once.
    expect(catalogA.version + catalogB.version).toBe(2);
    clock.t += 3_600_000;
    await Promise.all([syncA.tick(), syncB.tick()]);
    expect(fetches).toBe(2);

    const changed = orgConfigSchema.parse({ providers: { openai: { upstream: "http://127.0.0.1:2/v1" } } });
    const published = new Promise<void>((resolve) => publishedByA.push(resolve));
    configA.replace(changed);
    await published;
    expect((await snapshotHead(a, CONFIG_SNAPSHOT))?.revision).toBe(2);
    // B's next poll picks it up.
    await syncB.tick();
    expect(configB.current().providers.openai?.upstream).toBe("http://127.0.0.1:2/v1");
    // B does not publish back what it took: A's revision stays.
    const rows = await a.selectFrom("cluster_snapshots").select(["revision", "published_by"]).where("name", "=", "org-config").executeTakeFirstOrThrow();
    expect(rows).toEqual({ revision: 2, published_by: "a" });
    await Promise.all([syncA.stop(), syncB.stop()]);
  });

  it("opens without migrating when asked for a bare pool", async () => {
    const bare = openPostgres(database.url, { maxConnections: 1 });
    const one = await bare
      .selectFrom("ledger")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    expect(one.n).toBeGreaterThan(0);
    await bare.destroy();
  });
});
