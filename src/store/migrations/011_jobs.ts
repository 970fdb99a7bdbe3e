import type { Kysely } from "kysely";

/**
 * Durable fleet jobs (src/jobs): one row per job, one row per step (an item: a repository, a
 * team). A step is checkpointed as it moves pending → running → done / failed / skipped; a
 * running step holds a lease, so a worker that died (SIGKILL, a crash) leaves a step that the
 * next worker takes over once the lease has expired, and a finished step is never run again.
 * 011: 010 is taken by wt/knowsrc's knowledge_versions.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("jobs")
    .addColumn("id", "text", (col) => col.primaryKey())
    // What the job does ("agents-md.generate"); a worker refuses a job of another kind.
    .addColumn("kind", "text", (col) => col.notNull())
    // JSON: the job's parameters, as the caller gave them.
    .addColumn("params", "text", (col) => col.notNull())
    .addColumn("step_count", "integer", (col) => col.notNull())
    .addColumn("created_at", "bigint", (col) => col.notNull())
    // Set when every step is done, failed or skipped.
    .addColumn("finished_at", "bigint")
    .execute();

  await db.schema
    .createTable("job_steps")
    .addColumn("job_id", "text", (col) => col.notNull())
    .addColumn("item", "text", (col) => col.notNull())
    // Order steps are claimed in.
    .addColumn("seq", "integer", (col) => col.notNull())
    // JSON: what the step works on.
    .addColumn("input", "text", (col) => col.notNull())
    // pending | running | done | failed | skipped
    .addColumn("status", "text", (col) => col.notNull())
    .addColumn("attempts", "integer", (col) => col.notNull().defaultTo(0))
    // A pending step is not claimed before this (the retry backoff).
    .addColumn("not_before", "bigint", (col) => col.notNull().defaultTo(0))
    .addColumn("lease_owner", "text")
    .addColumn("lease_expires_at", "bigint")
    .addColumn("last_error", "text")
    // JSON: the handler's result (done) or the reason (skipped).
    .addColumn("result", "text")
    .addColumn("cost_usd", "double precision", (col) => col.notNull().defaultTo(0))
    .addColumn("started_at", "bigint")
    .addColumn("finished_at", "bigint")
    .addPrimaryKeyConstraint("job_steps_pk", ["job_id", "item"])
    .execute();
  await db.schema.createIndex("job_steps_claim_idx").on("job_steps").columns(["job_id", "status", "seq"]).execute();
}
