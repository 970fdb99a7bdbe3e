import type { Kysely } from "kysely";

/** The alert outbox (migration 015_overrides_alerts) as Kysely sees it; owned here like the job tables. */
export interface AlertTables {
  alert_outbox: AlertOutboxTable;
}

export type OutboxStatus = "pending" | "sending" | "delivered" | "failed" | "dropped";

export interface AlertOutboxTable {
  id: string;
  event_id: string;
  target: string;
  dedupe_key: string;
  kind: string;
  /** JSON of the AlertEvent. */
  payload: string;
  status: OutboxStatus;
  attempts: number;
  not_before: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  last_error: string | null;
  last_status: number | null;
  created_at: number;
  finished_at: number | null;
}

/** The shared store seen with only the outbox: the one migration list creates it on every dialect. */
export function alertsDb<DB>(db: Kysely<DB>): Kysely<AlertTables> {
  return db as unknown as Kysely<AlertTables>;
}
