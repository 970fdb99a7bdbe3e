/**
 * The durable batch engine for fleet jobs (docs/jobs.md): a job in the store with one step per
 * item, checkpointed, resumable after a crash, leased so several PostgreSQL workers share it.
 */
export { createJob, type JobDefinition, type JobItem } from "./create.ts";
export { runJob, type RunOptions, type StepContext, type StepHandler, type StepOutcome } from "./run.ts";
export { jobReport, type JobReport, type StepReport } from "./report.ts";
export { barProgress, jsonProgress, silentProgress, type JobProgress, type StepEvent } from "./progress.ts";
export { backoffDelay, defaultBackoff, type BackoffOptions } from "./backoff.ts";
export { jobsDb, type JobsTables, type StepStatus } from "./tables.ts";
