import type { Kysely } from "kysely";

/** The job tables (migration 011_jobs) as Kysely sees them; owned here like the catalog's. */
export interface JobsTables {
  jobs: JobsTable;
  job_steps: JobStepsTable;
}

export interface JobsTable {
  id: string;
  kind: string;
  /** JSON of the job's parameters. */
  params: string;
  step_count: number;
  created_at: number;
  finished_at: number | null;
}

export type StepStatus = "pending" | "running" | "done" | "failed" | "skipped";

export interface JobStepsTable {
  job_id: string;
  item: string;
  seq: number;
  /** JSON of what the step works on. */
  input: string;
  status: StepStatus;
  attempts: number;
  /** Epoch ms before which a pending step is not claimed (retry backoff). */
  not_before: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  last_error: string | null;
  /** JSON of the result (done) or `{ "skipped": reason }`. */
  result: string | null;
  cost_usd: number;
  started_at: number | null;
  finished_at: number | null;
}

/**
 * The shared store handle seen with only the job tables: the one migration list creates them
 * on every store (SQLite, PostgreSQL, D1), so the narrower view is sound.
 */
export function jobsDb<DB>(db: Kysely<DB>): Kysely<JobsTables> {
  return db as unknown as Kysely<JobsTables>;
}
