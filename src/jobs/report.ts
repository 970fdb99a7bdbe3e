import type { Kysely } from "kysely";
import { jobsDb, type JobsTables, type StepStatus } from "./tables.ts";

export interface StepReport {
  item: string;
  status: StepStatus;
  attempts: number;
  costUsd: number;
  error?: string;
  result?: unknown;
}

export interface JobReport {
  jobId: string;
  kind: string;
  finished: boolean;
  counts: Record<StepStatus, number>;
  totalCostUsd: number;
  steps: StepReport[];
}

/** The job as the store has it: every step's state and cost, and the totals. */
export async function jobReport<DB>(database: Kysely<DB>, jobId: string): Promise<JobReport> {
  const db = jobsDb(database);
  const job = await db.selectFrom("jobs").selectAll().where("id", "=", jobId).executeTakeFirst();
  if (!job) throw new Error(`no job ${jobId} in the store`);
  const rows = await db.selectFrom("job_steps").select(["item", "status", "attempts", "cost_usd", "last_error", "result"]).where("job_id", "=", jobId).orderBy("seq").execute();
  const counts: Record<StepStatus, number> = { pending: 0, running: 0, done: 0, failed: 0, skipped: 0 };
  let total = 0;
  const steps = rows.map((row): StepReport => {
    counts[row.status] += 1;
    const costUsd = Number(row.cost_usd);
    total += costUsd;
    const step: StepReport = { item: row.item, status: row.status, attempts: Number(row.attempts), costUsd };
    if (row.last_error !== null && row.status !== "done") step.error = row.last_error;
    if (row.result !== null) step.result = JSON.parse(row.result) as unknown;
    return step;
  });
  return { jobId, kind: job.kind, finished: job.finished_at !== null, counts, totalCostUsd: total, steps };
}

/** Marks the job finished once no step is pending or running; true when it is. */
export async function finishIfComplete(db: Kysely<JobsTables>, jobId: string, now: number): Promise<boolean> {
  const open = await db
    .selectFrom("job_steps")
    .select((eb) => eb.fn.countAll<number | string | bigint>().as("n"))
    .where("job_id", "=", jobId)
    .where("status", "in", ["pending", "running"])
    .executeTakeFirst();
  if (Number(open?.n ?? 0) > 0) return false;
  await db.updateTable("jobs").set({ finished_at: now }).where("id", "=", jobId).where("finished_at", "is", null).execute();
  return true;
}
