import type { Kysely } from "kysely";

/** The override tables (migration 015_overrides_alerts) as Kysely sees them; owned here like the job tables. */
export interface OverrideTables {
  budget_overrides: BudgetOverridesTable;
  budget_resets: BudgetResetsTable;
  /** Read for a reset's epoch sums (the ledger's columns this module reads). */
  ledger: { caller_id: string; ts: number; day: string; cost_usd: number };
  caller_groups: { caller_id: string; group_name: string; updated_at: number };
}

export interface BudgetOverridesTable {
  id: string;
  scope: string;
  period: string;
  kind: string;
  amount_usd: number;
  starts_at: number;
  ends_at: number;
  reason: string;
  actor: string;
  created_at: number;
  revoked_at: number | null;
  revoked_by: string | null;
}

export interface BudgetResetsTable {
  id: string;
  scope: string;
  period: string;
  period_key: string;
  reset_at: number;
  reason: string;
  actor: string;
  created_at: number;
}

/** The shared store seen with only these tables: the one migration list creates them on every dialect. */
export function overridesDb<DB>(db: Kysely<DB>): Kysely<OverrideTables> {
  return db as unknown as Kysely<OverrideTables>;
}
