import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore } from "../../src/adapters/node/postgres.ts";
import { systemClock } from "../../src/core/clock.ts";
import { createJob, jobReport, runJob } from "../../src/jobs/index.ts";
import type { Database } from "../../src/store/index.ts";
import { startTestDatabase, type TestDatabase } from "../scale/postgres.ts";

let database: TestDatabase;
let a: Kysely<Database>;
let b: Kysely<Database>;

beforeAll(async () => {
  database = await startTestDatabase();
  // Two workers with their own pools, as two processes would have.
  a = await openPostgresStore(database.url, { applicationName: "jobs-a" });
  b = await openPostgresStore(database.url, { applicationName: "jobs-b" });
}, 120_000);

afterAll(async () => {
  await a?.destroy();
  await b?.destroy();
  await database?.close();
});

describe("two workers share a job on PostgreSQL", { timeout: 120_000 }, () => {
  it("each step is claimed by exactly one worker, both do work, the report is whole", async () => {
    const STEPS = 200;
    const items = Array.from({ length: STEPS }, (_, i) => ({ item: `repo-${i}`, input: i }));
    // Both create the same job at once: one creates it, the other resumes it.
    const created = await Promise.all([createJob(a, { id: "shared", kind: "test.pg", params: null, items }, systemClock.now()), createJob(b, { id: "shared", kind: "test.pg", params: null, items }, systemClock.now())]);
    expect(created.map((c) => c.created).sort()).toEqual([false, true]);
    const runs = new Map<string, string[]>();
    const handler = (worker: string) => async (input: number, ctx: { item: string; addCost(usd: number): void }) => {
      runs.set(ctx.item, [...(runs.get(ctx.item) ?? []), worker]);
      await new Promise((resolve) => setTimeout(resolve, 2));
      ctx.addCost(0.002);
      return { result: input };
    };
    const [reportA] = await Promise.all([
      runJob(a, "shared", "test.pg", handler("a"), { clock: systemClock, concurrency: 6, workerId: "a", pollMs: 50 }),
      runJob(b, "shared", "test.pg", handler("b"), { clock: systemClock, concurrency: 6, workerId: "b", pollMs: 50 }),
    ]);
    expect(runs.size).toBe(STEPS);
    const twice = [...runs].filter(([, workers]) => workers.length !== 1);
    expect(twice).toEqual([]);
    const byWorker = (w: string) => [...runs.values()].filter((workers) => workers[0] === w).length;
    expect(byWorker("a")).toBeGreaterThan(0);
    expect(byWorker("b")).toBeGreaterThan(0);
    const report = await jobReport(a, "shared");
    expect(report.counts).toEqual({ pending: 0, running: 0, done: STEPS, failed: 0, skipped: 0 });
    expect(report.totalCostUsd).toBeCloseTo(STEPS * 0.002, 9);
    expect(reportA.counts.done).toBe(STEPS);
  });
});
