import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { systemClock, type Clock } from "../../src/core/clock.ts";
import { createJob, jobReport, jobsDb, jsonProgress, runJob } from "../../src/jobs/index.ts";
import { migrateToLatest, type Database } from "../../src/store/index.ts";

/** A clock the engine's sleep advances: waits take no wall time and land exactly where asked. */
class SleepClock implements Clock {
  t = 1_000_000;
  now(): number {
    return this.t;
  }
  monotonic(): number {
    return this.t;
  }
  sleep = async (ms: number): Promise<void> => {
    this.t += ms;
    await Promise.resolve();
  };
}

let db: Kysely<Database>;
beforeEach(async () => {
  db = openSqlite(join(mkdtempSync(join(tmpdir(), "gatehouse-jobs-")), "g.db"));
  await migrateToLatest(db);
});
afterEach(async () => {
  await db.destroy();
});

const items = (n: number) => Array.from({ length: n }, (_, i) => ({ item: `repo-${String(i).padStart(3, "0")}`, input: { n: i } }));

describe("the job engine on SQLite", () => {
  it("runs every step once with bounded concurrency and reports cost per item and in total", async () => {
    // Real time: idle lanes must not jump the clock past the busy lanes' leases.
    const clock = systemClock;
    await createJob(db, { id: "j1", kind: "test", params: { a: 1 }, items: items(25) }, clock.now());
    let inFlight = 0;
    let peak = 0;
    const calls: string[] = [];
    const report = await runJob<Database, { n: number }, { double: number }>(
      db,
      "j1",
      "test",
      async (input, ctx) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        calls.push(ctx.item);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inFlight--;
        ctx.addCost(0.01);
        if (input.n % 10 === 3) return { skipped: "no package manifest" };
        return { result: { double: input.n * 2 } };
      },
      { clock, concurrency: 3, pollMs: 20 },
    );
    expect(peak).toBe(3);
    expect(calls.sort()).toEqual(items(25).map((i) => i.item));
    expect(report.counts).toEqual({ pending: 0, running: 0, done: 22, failed: 0, skipped: 3 });
    expect(report.finished).toBe(true);
    expect(report.totalCostUsd).toBeCloseTo(0.25, 10);
    expect(report.steps[4]).toEqual({ item: "repo-004", status: "done", attempts: 1, costUsd: 0.01, result: { double: 8 } });
    expect(report.steps[3]).toMatchObject({ status: "skipped", result: { skipped: "no package manifest" } });
  });

  it("retries a failing step with exponential backoff, then fails it with its last error; others are unaffected", async () => {
    const clock = new SleepClock();
    await createJob(db, { id: "j2", kind: "test", params: null, items: items(3) }, clock.now());
    const attempts: { item: string; at: number; attempt: number }[] = [];
    const report = await runJob<Database, { n: number }, string>(
      db,
      "j2",
      "test",
      async (input, ctx) => {
        attempts.push({ item: ctx.item, at: clock.now(), attempt: ctx.attempt });
        ctx.addCost(0.5);
        if (input.n === 1) throw new Error(`upstream 503 on attempt ${ctx.attempt}`);
        if (input.n === 2 && ctx.attempt < 3) throw new Error("flaky");
        return { result: "ok" };
      },
      { clock, sleep: clock.sleep, concurrency: 1, maxAttempts: 4, backoff: { baseMs: 1000, maxMs: 3000, jitter: 0 }, pollMs: 60_000 },
    );
    const failing = attempts.filter((a) => a.item === "repo-001");
    expect(failing.map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
    const gaps = failing.slice(1).map((a, i) => a.at - (failing[i]?.at ?? 0));
    // 1 s, 2 s, then capped at 3 s (each wait ends 1 ms after the step becomes due).
    expect(gaps.map((g) => Math.round(g / 1000))).toEqual([1, 2, 3]);
    expect(report.steps[1]).toMatchObject({ status: "failed", attempts: 4, error: "upstream 503 on attempt 4", costUsd: 2 });
    expect(report.steps[2]).toMatchObject({ status: "done", attempts: 3, costUsd: 1.5 });
    expect(report.counts).toMatchObject({ done: 2, failed: 1 });
    expect(report.totalCostUsd).toBeCloseTo(4, 10);
  });

  it("takes over a step whose worker died (lease expired) and never reruns a finished one", async () => {
    const clock = new SleepClock();
    await createJob(db, { id: "j3", kind: "test", params: null, items: items(4) }, clock.now());
    const steps = jobsDb(db);
    // A dead worker: step 0 done, step 1 running with a lease that expires in 5 s, step 2 running with an expired lease.
    await steps.updateTable("job_steps").set({ status: "done", attempts: 1, result: '"before"' }).where("item", "=", "repo-000").execute();
    await steps
      .updateTable("job_steps")
      .set({ status: "running", attempts: 1, lease_owner: "dead", lease_expires_at: clock.now() + 5000 })
      .where("item", "=", "repo-001")
      .execute();
    await steps
      .updateTable("job_steps")
      .set({ status: "running", attempts: 1, lease_owner: "dead", lease_expires_at: clock.now() - 1 })
      .where("item", "=", "repo-002")
      .execute();
    const seen: string[] = [];
    const report = await runJob<Database, unknown, string>(db, "j3", "test", async (_input, ctx) => (seen.push(`${ctx.item}#${ctx.attempt}`), { result: "after" }), { clock, sleep: clock.sleep, concurrency: 2, pollMs: 60_000 });
    expect(seen.sort()).toEqual(["repo-001#2", "repo-002#2", "repo-003#1"]);
    expect(report.steps.map((s) => s.result)).toEqual(["before", "after", "after", "after"]);
  });

  it("fails an attempt whose spend cannot be counted instead of counting it as nothing", async () => {
    const clock = new SleepClock();
    await createJob(db, { id: "j8", kind: "test", params: null, items: items(1) }, clock.now());
    const report = await runJob<Database, unknown, string>(db, "j8", "test", async (_input, ctx) => (ctx.addCost(Number.NaN), { result: "x" }), { clock, sleep: clock.sleep, maxAttempts: 1 });
    expect(report.steps[0]).toMatchObject({ status: "failed", error: "step cost must be a finite, non-negative USD amount, got NaN" });
  });

  it("fails a step whose every attempt died with its worker instead of retrying it for ever", async () => {
    const clock = new SleepClock();
    await createJob(db, { id: "j4", kind: "test", params: null, items: items(1) }, clock.now());
    await jobsDb(db)
      .updateTable("job_steps")
      .set({ status: "running", attempts: 3, lease_owner: "dead", lease_expires_at: clock.now() - 1 })
      .execute();
    let called = false;
    const report = await runJob<Database, unknown, string>(db, "j4", "test", async () => ((called = true), { result: "x" }), { clock, sleep: clock.sleep, maxAttempts: 3 });
    expect(called).toBe(false);
    expect(report.steps[0]).toMatchObject({ status: "failed", attempts: 4, error: expect.stringContaining("never finished") });
  });

  it("a worker that lost its lease writes nothing: the step's outcome is the new holder's", async () => {
    const clock = new SleepClock();
    await createJob(db, { id: "j5", kind: "test", params: null, items: items(1) }, clock.now());
    const report = await runJob<Database, unknown, string>(
      db,
      "j5",
      "test",
      async (_input, ctx) => {
        if (ctx.attempt === 1) {
          // While this attempt is slow, another worker takes the step over and finishes it.
          await jobsDb(db).updateTable("job_steps").set({ status: "done", lease_owner: null, result: '"other worker"', attempts: 2 }).execute();
          return { result: "stale worker" };
        }
        return { result: "unexpected" };
      },
      { clock, sleep: clock.sleep },
    );
    expect(report.steps[0]).toMatchObject({ status: "done", result: "other worker" });
  });

  it("resumes an existing job as it is, refuses another kind, duplicate items, and writes JSON progress", async () => {
    const clock = new SleepClock();
    expect(await createJob(db, { id: "j6", kind: "test", params: null, items: items(2) }, clock.now())).toEqual({ created: true, stepCount: 2 });
    expect(await createJob(db, { id: "j6", kind: "test", params: null, items: items(5) }, clock.now())).toEqual({ created: false, stepCount: 2 });
    await expect(createJob(db, { id: "j6", kind: "other", params: null, items: [] }, clock.now())).rejects.toThrow(/is a test job/);
    await expect(createJob(db, { id: "j7", kind: "test", params: null, items: [...items(2), ...items(1)] }, clock.now())).rejects.toThrow(/listed twice/);
    await expect(runJob(db, "j6", "other", async () => ({ result: 1 }), { clock })).rejects.toThrow(/this worker runs other jobs/);
    const lines: string[] = [];
    await runJob(db, "j6", "test", async () => ({ result: 1 }), {
      clock,
      sleep: clock.sleep,
      progress: jsonProgress(
        (l) => lines.push(l),
        () => clock.now(),
      ),
    });
    const events = lines.map((l) => JSON.parse(l) as { event: string; settled: number; total: number });
    expect(events.map((e) => e.event)).toEqual(["start", "step", "step", "finish"]);
    expect(events.at(-1)).toMatchObject({ settled: 2, total: 2 });
    expect((await jobReport(db, "j6")).finished).toBe(true);
  });
});
