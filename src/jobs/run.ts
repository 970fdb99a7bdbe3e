import type { Kysely } from "kysely";
import type { Clock } from "../core/clock.ts";
import { backoffDelay, defaultBackoff, type BackoffOptions } from "./backoff.ts";
import { silentProgress, type JobProgress } from "./progress.ts";
import { finishIfComplete, jobReport, type JobReport } from "./report.ts";
import { claimStep, openSteps, renewLease, settleStep, type ClaimedStep, type Settlement } from "./steps.ts";
import { jobsDb } from "./tables.ts";

export interface StepContext {
  item: string;
  /** 1-based; an attempt a dead worker started counts. */
  attempt: number;
  /** Aborted when the lease is lost (another worker took the step over) or the run is stopped. */
  signal: AbortSignal;
  /** Adds spend (USD) to the step; counted even when the attempt then fails. */
  addCost(usd: number): void;
}

/** What a handler returns: a result to checkpoint, or a reason the item was skipped. */
export type StepOutcome<R> = { result: R } | { skipped: string };

export type StepHandler<I, R> = (input: I, context: StepContext) => Promise<StepOutcome<R>>;

export interface RunOptions {
  clock: Clock;
  /** Steps this worker runs at once. On SQLite keep one worker process; on PostgreSQL start as many as you like. */
  concurrency?: number;
  /** Attempts per step before it is failed (an attempt whose worker died counts). */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** How long a claimed step is this worker's without a renewal; renewed every third of it. */
  leaseMs?: number;
  /** How long an idle lane waits before looking for claimable steps again, at most. */
  pollMs?: number;
  workerId?: string;
  progress?: JobProgress;
  /** Stops claiming new steps; steps in flight are aborted and left to their lease. */
  signal?: AbortSignal;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const ERROR_CHARS = 2_000;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a job's steps until none is pending or running, then returns the job's report. Each
 * step is claimed under a lease, checkpointed when it settles, retried with exponential backoff
 * when it throws, and never run again once done, failed or skipped. Handlers run at least once
 * per step: a worker killed mid-step leaves it running, and the next worker retries it when the
 * lease expires, so a handler's side effect must be idempotent (write the same file, update
 * the open PR).
 */
export async function runJob<DB, I, R>(database: Kysely<DB>, jobId: string, kind: string, handler: StepHandler<I, R>, options: RunOptions): Promise<JobReport> {
  const db = jobsDb(database);
  const job = await db.selectFrom("jobs").select(["kind", "step_count"]).where("id", "=", jobId).executeTakeFirst();
  if (!job) throw new Error(`no job ${jobId} in the store; create it first`);
  if (job.kind !== kind) throw new Error(`job ${jobId} is a ${job.kind} job; this worker runs ${kind} jobs`);
  const clock = options.clock;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  const maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? 3));
  const backoff = options.backoff ?? defaultBackoff;
  const leaseMs = options.leaseMs ?? 60_000;
  const pollMs = options.pollMs ?? 500;
  const workerId = options.workerId ?? crypto.randomUUID();
  const progress = options.progress ?? silentProgress;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const stopped = (): boolean => options.signal?.aborted === true;

  const before = await openSteps(db, jobId);
  progress.start(jobId, Number(job.step_count), Number(job.step_count) - before.open);

  const execute = async (step: ClaimedStep): Promise<void> => {
    let cost = 0;
    const abort = new AbortController();
    const stop = (): void => abort.abort(new Error("the run was stopped"));
    options.signal?.addEventListener("abort", stop, { once: true });
    let renewing: Promise<void> = Promise.resolve();
    let leaseUntil = clock.now() + leaseMs;
    const timer = setInterval(
      () => {
        const at = clock.now();
        renewing = renewLease(db, jobId, step.item, workerId, at, leaseMs).then(
          (held) => {
            if (held) leaseUntil = at + leaseMs;
            else abort.abort(new Error("lease lost: another worker took the step over"));
          },
          // The store did not answer: the lease holds until it expires, after which another worker may take the step.
          (err: unknown) => {
            if (clock.now() >= leaseUntil) abort.abort(new Error(`lease expired while the store refused its renewal: ${err instanceof Error ? err.message : String(err)}`));
          },
        );
      },
      Math.max(10, Math.floor(leaseMs / 3)),
    );
    let outcome: Settlement;
    if (step.attempt > maxAttempts) {
      // Every attempt so far died with its worker (the step kills the process, or hangs past its lease).
      outcome = { status: "failed", error: `attempt ${step.attempt - 1} of ${maxAttempts} never finished (its worker died or its lease expired)`, costUsd: 0 };
    } else {
      try {
        const input = JSON.parse(step.input) as I;
        const result = await handler(input, {
          item: step.item,
          attempt: step.attempt,
          signal: abort.signal,
          addCost: (usd) => {
            // Spend that cannot be counted fails the attempt rather than being counted as nothing.
            if (!Number.isFinite(usd) || usd < 0) throw new Error(`step cost must be a finite, non-negative USD amount, got ${String(usd)}`);
            cost += usd;
          },
        });
        outcome = "skipped" in result ? { status: "skipped", reason: result.skipped, costUsd: cost } : { status: "done", result: JSON.stringify(result.result ?? null), costUsd: cost };
      } catch (err) {
        const message = (err instanceof Error ? err.message : String(err)).slice(0, ERROR_CHARS);
        outcome = step.attempt >= maxAttempts ? { status: "failed", error: message, costUsd: cost } : { status: "pending", error: message, costUsd: cost, notBefore: clock.now() + backoffDelay(step.attempt, backoff, random) };
      }
    }
    clearInterval(timer);
    options.signal?.removeEventListener("abort", stop);
    await renewing;
    if (abort.signal.aborted && stopped()) return; // left to its lease: the next run retries it
    const landed = await settleStep(db, jobId, step.item, workerId, clock.now(), outcome);
    if (!landed) return; // another worker holds it now; its outcome is the one recorded
    const event = { item: step.item, status: outcome.status, attempt: step.attempt, costUsd: outcome.costUsd };
    progress.step(outcome.status === "done" || outcome.status === "skipped" ? event : { ...event, error: outcome.error });
  };

  const lane = async (): Promise<void> => {
    while (!stopped()) {
      const step = await claimStep(db, jobId, workerId, clock.now(), leaseMs);
      if (step) {
        await execute(step);
        continue;
      }
      const state = await openSteps(db, jobId);
      if (state.open === 0) return;
      const wait = state.nextWake === undefined ? pollMs : Math.min(pollMs, Math.max(10, state.nextWake - clock.now() + 1));
      await sleep(wait);
    }
  };

  await Promise.all(Array.from({ length: concurrency }, lane));
  await finishIfComplete(db, jobId, clock.now());
  progress.finish();
  return jobReport(db, jobId);
}
