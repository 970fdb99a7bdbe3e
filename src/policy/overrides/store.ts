import type { Kysely, Selectable } from "kysely";
import { periodsOf } from "../counters.ts";
import type { BudgetOverridesTable, BudgetResetsTable, OverrideTables } from "./tables.ts";
import type { BudgetOverride, BudgetPeriod, BudgetReset, OverrideKind } from "./types.ts";

/** Overrides that have not ended and are not revoked, and resets of the current day and month. */
export async function loadActive(db: Kysely<OverrideTables>, now: number): Promise<{ overrides: BudgetOverride[]; resets: BudgetReset[] }> {
  const { day, month } = periodsOf(now);
  const overrides = await db.selectFrom("budget_overrides").selectAll().where("ends_at", ">", now).where("revoked_at", "is", null).execute();
  const resets = await db.selectFrom("budget_resets").selectAll().where("period_key", "in", [day, month]).execute();
  return { overrides: overrides.map(overrideFromRow), resets: resets.map(resetFromRow) };
}

export async function insertOverride(db: Kysely<OverrideTables>, o: BudgetOverride): Promise<void> {
  await db
    .insertInto("budget_overrides")
    .values({
      id: o.id,
      scope: o.scope,
      period: o.period,
      kind: o.kind,
      amount_usd: o.amountUsd,
      starts_at: o.startsAt,
      ends_at: o.endsAt,
      reason: o.reason,
      actor: o.actor,
      created_at: o.createdAt,
      revoked_at: null,
      revoked_by: null,
    })
    .execute();
}

export async function insertReset(db: Kysely<OverrideTables>, r: BudgetReset): Promise<void> {
  await db.insertInto("budget_resets").values({ id: r.id, scope: r.scope, period: r.period, period_key: r.periodKey, reset_at: r.resetAt, reason: r.reason, actor: r.actor, created_at: r.createdAt }).execute();
}

/** Marks an override revoked; false when there is no such override or it was revoked already. */
export async function revokeOverride(db: Kysely<OverrideTables>, id: string, actor: string, now: number): Promise<boolean> {
  const result = await db.updateTable("budget_overrides").set({ revoked_at: now, revoked_by: actor }).where("id", "=", id).where("revoked_at", "is", null).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export interface ListFilter {
  scope?: string | undefined;
  /** Include overrides that ended or were revoked, and resets of earlier periods. */
  all?: boolean | undefined;
}

export async function listOverrides(db: Kysely<OverrideTables>, now: number, filter: ListFilter = {}): Promise<{ overrides: BudgetOverride[]; resets: BudgetReset[] }> {
  let oq = db.selectFrom("budget_overrides").selectAll().orderBy("created_at", "desc").limit(1000);
  let rq = db.selectFrom("budget_resets").selectAll().orderBy("created_at", "desc").limit(1000);
  if (filter.scope !== undefined) {
    oq = oq.where("scope", "=", filter.scope);
    rq = rq.where("scope", "=", filter.scope);
  }
  if (!filter.all) {
    const { day, month } = periodsOf(now);
    oq = oq.where("ends_at", ">", now).where("revoked_at", "is", null);
    rq = rq.where("period_key", "in", [day, month]);
  }
  const [overrides, resets] = await Promise.all([oq.execute(), rq.execute()]);
  return { overrides: overrides.map(overrideFromRow), resets: resets.map(resetFromRow) };
}

function overrideFromRow(row: Selectable<BudgetOverridesTable>): BudgetOverride {
  return {
    id: row.id,
    scope: row.scope,
    period: row.period as BudgetPeriod,
    kind: row.kind as OverrideKind,
    amountUsd: Number(row.amount_usd),
    startsAt: Number(row.starts_at),
    endsAt: Number(row.ends_at),
    reason: row.reason,
    actor: row.actor,
    createdAt: Number(row.created_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    revokedBy: row.revoked_by,
  };
}

function resetFromRow(row: Selectable<BudgetResetsTable>): BudgetReset {
  return { id: row.id, scope: row.scope, period: row.period as BudgetPeriod, periodKey: row.period_key, resetAt: Number(row.reset_at), reason: row.reason, actor: row.actor, createdAt: Number(row.created_at) };
}

/**
 * What a scope spent in the reset's period from its epoch on, from the ledger (rows of
 * requests that arrived at or after `resetAt`): the counter of the reset's key at a start or
 * a reconcile. A group's spend is its members' (caller_groups), as for the period's own key.
 */
export async function spentSinceReset(db: Kysely<OverrideTables>, reset: BudgetReset): Promise<number> {
  const firstDay = reset.period === "day" ? reset.periodKey : `${reset.periodKey}-01`;
  const lastDay = reset.period === "day" ? reset.periodKey : `${reset.periodKey}-31`;
  if (reset.scope.startsWith("user:")) {
    const row = await db
      .selectFrom("ledger")
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("cost_usd"), eb.lit(0)).as("usd"))
      .where("caller_id", "=", reset.scope.slice("user:".length))
      .where("day", ">=", firstDay)
      .where("day", "<=", lastDay)
      .where("ts", ">=", reset.resetAt)
      .executeTakeFirst();
    return Number(row?.usd ?? 0);
  }
  const row = await db
    .selectFrom("ledger")
    .innerJoin("caller_groups", "caller_groups.caller_id", "ledger.caller_id")
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("ledger.cost_usd"), eb.lit(0)).as("usd"))
    .where("caller_groups.group_name", "=", reset.scope.slice("group:".length))
    .where("ledger.day", ">=", firstDay)
    .where("ledger.day", "<=", lastDay)
    .where("ledger.ts", ">=", reset.resetAt)
    .executeTakeFirst();
  return Number(row?.usd ?? 0);
}
