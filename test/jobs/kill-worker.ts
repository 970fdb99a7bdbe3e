// A job worker as its own process, for the SIGKILL test: node --import tsx test/jobs/kill-worker.ts <db> <effects> <job> <n> <leaseMs>
import { appendFileSync } from "node:fs";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { systemClock } from "../../src/core/clock.ts";
import { createJob, runJob } from "../../src/jobs/index.ts";
import { migrateToLatest, type Database } from "../../src/store/index.ts";

const [dbFile, effects, jobId, count, lease] = process.argv.slice(2);
if (!dbFile || !effects || !jobId || !count || !lease) throw new Error("usage: kill-worker.ts <db> <effects> <job> <n> <leaseMs>");
const db = openSqlite(dbFile);
await migrateToLatest(db);
const items = Array.from({ length: Number(count) }, (_, i) => ({ item: `repo-${String(i).padStart(4, "0")}`, input: { n: i } }));
await createJob(db, { id: jobId, kind: "test.kill", params: null, items }, systemClock.now());
const report = await runJob<Database, { n: number }, number>(
  db,
  jobId,
  "test.kill",
  async (input, ctx) => {
    await new Promise((resolve) => setTimeout(resolve, 15));
    // The side effect the test counts: one line per handler run that got this far.
    appendFileSync(effects, `${ctx.item} ${process.pid} ${ctx.attempt}\n`);
    ctx.addCost(0.001);
    return { result: input.n };
  },
  { clock: systemClock, concurrency: 4, leaseMs: Number(lease), pollMs: 50 },
);
process.stdout.write(`${JSON.stringify({ counts: report.counts, total: report.totalCostUsd })}\n`);
await db.destroy();
