import type { Kysely } from "kysely";
import type { JobsTables, StepStatus } from "./tables.ts";

/** A step this worker holds the lease of. */
export interface ClaimedStep {
  item: string;
  input: string;
  /** 1-based, this attempt included (an attempt a dead worker never finished counts). */
  attempt: number;
}

/** What a settled attempt writes; only the lease holder's write lands. */
export type Settlement =
  { status: "done"; result: string; costUsd: number } | { status: "skipped"; reason: string; costUsd: number } | { status: "failed"; error: string; costUsd: number } | { status: "pending"; error: string; costUsd: number; notBefore: number };

const CANDIDATES = 16;

/**
 * Claims the next step: pending and due, or running under a lease that expired (its worker
 * died). The claim is one compare-and-set UPDATE whose WHERE repeats the claimable condition,
 * so of two workers racing for a step (PostgreSQL re-checks the row after the lock wait) exactly
 * one gets the row back from RETURNING; the loser tries the next candidate.
 */
export async function claimStep(db: Kysely<JobsTables>, jobId: string, workerId: string, now: number, leaseMs: number): Promise<ClaimedStep | undefined> {
  const candidates = await db
    .selectFrom("job_steps")
    .select("item")
    .where("job_id", "=", jobId)
    .where((eb) => eb.or([eb.and([eb("status", "=", "pending"), eb("not_before", "<=", now)]), eb.and([eb("status", "=", "running"), eb("lease_expires_at", "<", now)])]))
    .orderBy("seq")
    .limit(CANDIDATES)
    .execute();
  for (const candidate of candidates) {
    const row = await db
      .updateTable("job_steps")
      .set((eb) => ({ status: "running", lease_owner: workerId, lease_expires_at: now + leaseMs, attempts: eb("attempts", "+", 1), started_at: now }))
      .where("job_id", "=", jobId)
      .where("item", "=", candidate.item)
      .where((eb) => eb.or([eb.and([eb("status", "=", "pending"), eb("not_before", "<=", now)]), eb.and([eb("status", "=", "running"), eb("lease_expires_at", "<", now)])]))
      .returning(["item", "input", "attempts"])
      .executeTakeFirst();
    if (row) return { item: row.item, input: row.input, attempt: Number(row.attempts) };
  }
  return undefined;
}

/** Extends the lease; false when this worker no longer holds it (it expired and another took the step). */
export async function renewLease(db: Kysely<JobsTables>, jobId: string, item: string, workerId: string, now: number, leaseMs: number): Promise<boolean> {
  const result = await db
    .updateTable("job_steps")
    .set({ lease_expires_at: now + leaseMs })
    .where("job_id", "=", jobId)
    .where("item", "=", item)
    .where("status", "=", "running")
    .where("lease_owner", "=", workerId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Checkpoints an attempt's outcome, fenced by the lease: a worker whose lease was taken over
 * writes nothing (false), so a step is done once, by the worker that held it last.
 */
export async function settleStep(db: Kysely<JobsTables>, jobId: string, item: string, workerId: string, now: number, outcome: Settlement): Promise<boolean> {
  const terminal = outcome.status !== "pending";
  const result = await db
    .updateTable("job_steps")
    .set((eb) => ({
      status: outcome.status,
      cost_usd: eb("cost_usd", "+", outcome.costUsd),
      result: outcome.status === "done" ? outcome.result : outcome.status === "skipped" ? JSON.stringify({ skipped: outcome.reason }) : null,
      last_error: outcome.status === "failed" || outcome.status === "pending" ? outcome.error : null,
      not_before: outcome.status === "pending" ? outcome.notBefore : 0,
      lease_owner: null,
      lease_expires_at: null,
      finished_at: terminal ? now : null,
    }))
    .where("job_id", "=", jobId)
    .where("item", "=", item)
    .where("status", "=", "running")
    .where("lease_owner", "=", workerId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export interface OpenSteps {
  /** Steps not yet done, failed or skipped. */
  open: number;
  /** Earliest time a step may become claimable (a backoff ends, a lease expires); undefined when none waits. */
  nextWake: number | undefined;
}

export async function openSteps(db: Kysely<JobsTables>, jobId: string): Promise<OpenSteps> {
  const rows = await db
    .selectFrom("job_steps")
    .select((eb) => [eb.fn.countAll<number | string | bigint>().as("n"), eb.fn.min("not_before").as("not_before"), eb.fn.min("lease_expires_at").as("lease")])
    .where("job_id", "=", jobId)
    .where("status", "in", ["pending", "running"] satisfies StepStatus[])
    .executeTakeFirst();
  const open = Number(rows?.n ?? 0);
  const wakes = [rows?.not_before, rows?.lease].filter((v): v is number => v !== null && v !== undefined).map(Number);
  return { open, nextWake: wakes.length > 0 ? Math.min(...wakes) : undefined };
}
