import type { Kysely } from "kysely";
import type { AlertEvent } from "./events.ts";
import type { AlertTables, OutboxStatus } from "./tables.ts";

/** One event for one webhook, to be inserted. */
export interface OutboxEntry {
  event: AlertEvent;
  target: string;
  /** Same key = same alert: stored once whichever request or instance raised it first. */
  dedupeKey: string;
}

/** A row this sender holds the lease of. */
export interface ClaimedDelivery {
  id: string;
  target: string;
  event: AlertEvent;
  /** 1-based, this attempt included. */
  attempt: number;
}

/** Inserts what is not there yet (the unique dedupe key); returns how many rows are new. */
export async function enqueue(db: Kysely<AlertTables>, entries: readonly OutboxEntry[], now: number): Promise<number> {
  if (entries.length === 0) return 0;
  const result = await db
    .insertInto("alert_outbox")
    .values(
      entries.map((e) => ({
        id: crypto.randomUUID(),
        event_id: e.event.id,
        target: e.target,
        dedupe_key: `${e.target}|${e.dedupeKey}`,
        kind: e.event.type,
        payload: JSON.stringify(e.event),
        status: "pending" as const,
        attempts: 0,
        not_before: now,
        lease_owner: null,
        lease_expires_at: null,
        last_error: null,
        last_status: null,
        created_at: now,
        finished_at: null,
      })),
    )
    .onConflict((oc) => oc.column("dedupe_key").doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0);
}

/**
 * Claims up to `limit` due rows: pending and due, or sending under a lease that expired (its
 * sender died or stopped mid-delivery). Each claim is one compare-and-set UPDATE whose WHERE
 * repeats the condition (as src/jobs claims steps), so of several senders on several
 * instances exactly one gets each row.
 */
export async function claimDue(db: Kysely<AlertTables>, owner: string, now: number, leaseMs: number, limit: number, skipTargets: readonly string[] = []): Promise<ClaimedDelivery[]> {
  let query = db
    .selectFrom("alert_outbox")
    .select("id")
    .where((eb) => eb.or([eb.and([eb("status", "=", "pending"), eb("not_before", "<=", now)]), eb.and([eb("status", "=", "sending"), eb("lease_expires_at", "<", now)])]));
  if (skipTargets.length > 0) query = query.where("target", "not in", [...skipTargets]);
  const candidates = await query.orderBy("created_at").limit(limit).execute();
  const claimed: ClaimedDelivery[] = [];
  for (const { id } of candidates) {
    const row = await db
      .updateTable("alert_outbox")
      .set((eb) => ({ status: "sending", lease_owner: owner, lease_expires_at: now + leaseMs, attempts: eb("attempts", "+", 1) }))
      .where("id", "=", id)
      .where((eb) => eb.or([eb.and([eb("status", "=", "pending"), eb("not_before", "<=", now)]), eb.and([eb("status", "=", "sending"), eb("lease_expires_at", "<", now)])]))
      .returning(["id", "target", "payload", "attempts"])
      .executeTakeFirst();
    if (row) claimed.push({ id: row.id, target: row.target, event: JSON.parse(row.payload) as AlertEvent, attempt: Number(row.attempts) });
  }
  return claimed;
}

export type DeliveryOutcome = { status: "delivered"; httpStatus: number } | { status: "pending"; error: string; httpStatus: number | null; notBefore: number } | { status: "failed" | "dropped"; error: string; httpStatus: number | null };

/** Writes an attempt's outcome, fenced by the lease: false when another sender took the row over meanwhile. */
export async function settleDelivery(db: Kysely<AlertTables>, id: string, owner: string, now: number, outcome: DeliveryOutcome): Promise<boolean> {
  const terminal = outcome.status !== "pending";
  const status: OutboxStatus = outcome.status;
  const result = await db
    .updateTable("alert_outbox")
    .set({
      status,
      lease_owner: null,
      lease_expires_at: null,
      last_status: outcome.httpStatus,
      last_error: outcome.status === "delivered" ? null : outcome.error,
      not_before: outcome.status === "pending" ? outcome.notBefore : now,
      finished_at: terminal ? now : null,
    })
    .where("id", "=", id)
    .where("status", "=", "sending")
    .where("lease_owner", "=", owner)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Counts per status (for /metrics and tests). */
export async function outboxCounts(db: Kysely<AlertTables>): Promise<Record<OutboxStatus, number>> {
  const rows = await db
    .selectFrom("alert_outbox")
    .select(["status", (eb) => eb.fn.countAll<number | string | bigint>().as("n")])
    .groupBy("status")
    .execute();
  const counts: Record<OutboxStatus, number> = { pending: 0, sending: 0, delivered: 0, failed: 0, dropped: 0 };
  for (const row of rows) counts[row.status] = Number(row.n);
  return counts;
}

/** The earliest not_before of a pending row (when the sender should look next); undefined when none waits. */
export async function nextDue(db: Kysely<AlertTables>): Promise<number | undefined> {
  const row = await db
    .selectFrom("alert_outbox")
    .select((eb) => eb.fn.min("not_before").as("at"))
    .where("status", "=", "pending")
    .executeTakeFirst();
  return row?.at === null || row?.at === undefined ? undefined : Number(row.at);
}
