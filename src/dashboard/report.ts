import type { Kysely } from "kysely";
import type { OrgConfig } from "../config/index.ts";
import type { Database } from "../store/index.ts";
import { compileRules } from "../policy/index.ts";
import { callerMonthSpend, callerSpendSince, costByDayAndClass, groupedBy, groupSpendByDay, groupSpendSince, latency, outcomes, providerClass, totals, type Aggregate, type Outcomes, type Percentiles, type Totals } from "./queries.ts";
import { daysBetween, daysOf, shiftDay, type DayRange } from "./range.ts";
import { mcpActivity, type McpActivity } from "./mcp-audit.ts";
import { clientsReport, type ClientsReport } from "./clients.ts";
import { serviceAccountNames, spendersByKind, type ServiceAccountSpend } from "./spenders.ts";

export interface ClassShare {
  frontier: Totals;
  openWeight: Totals;
}

/**
 * The budget a scope (`group:<name>`, `user:<id>`) has this month after overrides and resets:
 * what the budget check enforces (src/policy/overrides BudgetOverrideBook.effective). Absent,
 * the configured limits are shown.
 */
export type EffectiveMonthlyBudget = (scope: string, monthKey: string, configuredUsd: number, now: number) => { limitUsd: number; note: string | undefined; resetAt: number | undefined };

export interface BurnDown {
  group: string;
  /** The limit the budget check applies now: the configured one, or an active cap/raise. */
  limitUsd: number;
  /** What changed the configured limit (a cap, a raise, a reset), as the denial message says it. */
  note?: string | undefined;
  spentUsd: number;
  /** Remaining budget at the end of each day of the month so far. */
  remaining: Array<{ day: string; usd: number }>;
  /** Remaining budget from today to the month's last day if spending goes on at the month-to-date pace. */
  projection: Array<{ day: string; usd: number }>;
  /** Money left at the end of the month at that pace (negative: over budget). */
  projectedLeftUsd: number;
  /** The first day the budget is used up at that pace, when that is within the month. */
  runsOutOn: string | null;
}

export interface UserBurn {
  callerId: string;
  spentUsd: number;
  limitUsd: number;
  note?: string | undefined;
  /** Set when the caller is a service account: its name. */
  serviceAccount?: string | undefined;
}

export interface DashboardReport {
  range: DayRange;
  totals: Totals;
  days: Array<{ day: string; requests: number; tokens: number; inputTokens: number; outputTokens: number; cacheTokens: number; costUsd: number; frontierUsd: number; openWeightUsd: number }>;
  /** Days of the range with at least one request: below 2 the charts have no trend to show yet. */
  daysWithTraffic: number;
  providers: Aggregate[];
  classes: ClassShare;
  models: Aggregate[];
  teams: Aggregate[];
  /** Top people by spend (anonymous ids); service accounts are apart, in `serviceAccountSpenders`. */
  spenders: Aggregate[];
  serviceAccountSpenders: ServiceAccountSpend[];
  outcomes: Outcomes;
  latency: { duration: Percentiles; ttfb: Percentiles };
  month: string;
  /** Days of the month so far (today counts), the base of the burn-down's pace. */
  monthDaysElapsed: number;
  burnDown: BurnDown[];
  userBurn: UserBurn[];
  /** MCP portal tool calls from its audit log. */
  mcp: McpActivity;
  /** Per client, the most expensive sessions and the prompt-cache hit rates (clients.ts). */
  clients: ClientsReport;
}

const zero = (): Totals => ({ requests: 0, inputTokens: 0, outputTokens: 0, cacheTokens: 0, costUsd: 0, estimatedUsd: 0, unpricedRequests: 0 });

/** Everything the dashboard page shows for a range, read from the ledger. */
export async function buildReport(db: Kysely<Database>, config: OrgConfig, range: DayRange, now: number, effectiveBudget?: EffectiveMonthlyBudget): Promise<DashboardReport> {
  const [sum, byDay, byClassDay, providers, models, teams, spenders, outcome, lat, mcp, clients] = await Promise.all([
    totals(db, range),
    groupedBy(db, range, "day"),
    costByDayAndClass(db, range),
    groupedBy(db, range, "provider"),
    groupedBy(db, range, "model", 15),
    groupedBy(db, range, "team", 15),
    spendersByKind(db, range, 10),
    outcomes(db, range),
    latency(db, range),
    mcpActivity(db, range),
    clientsReport(db, range),
  ]);

  const dayIndex = new Map(byDay.map((d) => [d.key, d]));
  const classIndex = new Map(byClassDay.map((d) => [d.day, d]));
  const days = daysOf(range).map((day) => {
    const d = dayIndex.get(day);
    const c = classIndex.get(day);
    return {
      day,
      requests: d?.requests ?? 0,
      tokens: d ? d.inputTokens + d.outputTokens + d.cacheTokens : 0,
      inputTokens: d?.inputTokens ?? 0,
      outputTokens: d?.outputTokens ?? 0,
      cacheTokens: d?.cacheTokens ?? 0,
      costUsd: d?.costUsd ?? 0,
      frontierUsd: c?.frontierUsd ?? 0,
      openWeightUsd: c?.openWeightUsd ?? 0,
    };
  });

  const classes: ClassShare = { frontier: zero(), openWeight: zero() };
  for (const p of providers) {
    const target = providerClass(p.key) === "open-weight" ? classes.openWeight : classes.frontier;
    target.requests += p.requests;
    target.inputTokens += p.inputTokens;
    target.outputTokens += p.outputTokens;
    target.cacheTokens += p.cacheTokens;
    target.costUsd += p.costUsd;
    target.unpricedRequests += p.unpricedRequests;
  }

  const today = new Date(now).toISOString().slice(0, 10);
  const month = today.slice(0, 7);
  const { burnDown, userBurn } = await budgets(db, config, month, today, now, effectiveBudget);
  const daysWithTraffic = days.filter((d) => d.requests > 0).length;
  const monthDaysElapsed = daysBetween(`${month}-01`, today) + 1;
  return { range, totals: sum, days, daysWithTraffic, providers, classes, models, teams, spenders: spenders.people, serviceAccountSpenders: spenders.serviceAccounts, outcomes: outcome, latency: lat, month, monthDaysElapsed, burnDown, userBurn, mcp, clients };
}

async function budgets(db: Kysely<Database>, config: OrgConfig, month: string, today: string, now: number, effectiveBudget: EffectiveMonthlyBudget | undefined): Promise<{ burnDown: BurnDown[]; userBurn: UserBurn[] }> {
  const effective = (scope: string, configuredUsd: number) => effectiveBudget?.(scope, month, configuredUsd, now) ?? { limitUsd: configuredUsd, note: undefined, resetAt: undefined };
  const policy = config.policy;
  if (!policy) return { burnDown: [], userBurn: [] };
  const monthStart = `${month}-01`;
  const budgeted = Object.entries(policy.groups).filter(([, rule]) => rule.budget?.group?.monthlyUsd !== undefined);
  const spend = await groupSpendByDay(
    db,
    monthStart,
    today,
    budgeted.map(([g]) => g),
  );
  const monthDays = daysOf({ from: monthStart, to: today });
  const burnDown = await Promise.all(
    budgeted.map(async ([group, rule]) => {
      const { limitUsd, note, resetAt } = effective(`group:${group}`, rule.budget?.group?.monthlyUsd ?? 0);
      const perDay = spend.get(group) ?? new Map<string, number>();
      // After a reset the budget counts from the reset, as the budget check does: the line shows
      // what was left on each day before it, then starts again from the spend since the reset.
      const sinceReset = resetAt === undefined ? undefined : await groupSpendSince(db, group, resetAt);
      const resetDay = resetAt === undefined ? undefined : new Date(resetAt).toISOString().slice(0, 10);
      let cumulative = 0;
      const remaining = monthDays.map((day) => {
        if (day === resetDay) cumulative = sinceReset?.onResetDay ?? 0;
        else cumulative += perDay.get(day) ?? 0;
        return { day, usd: limitUsd - cumulative };
      });
      if (sinceReset) cumulative = sinceReset.total;
      return { group, limitUsd, note, spentUsd: cumulative, remaining, ...projectMonth(limitUsd, cumulative, today) };
    }),
  );

  const spenders = await callerMonthSpend(db, monthStart, today, 200);
  const userBurn: UserBurn[] = [];
  for (const s of spenders) {
    const configured = compileRules(policy, s.groups).userBudget.monthlyUsd;
    if (configured === undefined) continue;
    const { limitUsd, note, resetAt } = effective(`user:${s.callerId}`, configured);
    const spentUsd = resetAt === undefined ? s.costUsd : await callerSpendSince(db, s.callerId, resetAt);
    userBurn.push({ callerId: s.callerId, spentUsd, limitUsd, note });
  }
  userBurn.sort((a, b) => b.spentUsd / b.limitUsd - a.spentUsd / a.limitUsd);
  const closest = userBurn.slice(0, 10);
  const names = await serviceAccountNames(
    db,
    closest.map((u) => u.callerId),
  );
  for (const u of closest) u.serviceAccount = names.get(u.callerId);
  return { burnDown, userBurn: closest };
}

/** The last day of the month of `day` (YYYY-MM-DD). */
export function monthEnd(day: string): string {
  const [y, m] = day.split("-").map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
}

/**
 * Where a monthly budget ends up if spending goes on at the month-to-date pace (spent ÷ days
 * so far, today included). With one day of data this is still a line, not a dot: it is the
 * question a budget owner asks on the 1st ("at this rate, do we make it?").
 */
export function projectMonth(limitUsd: number, spentUsd: number, today: string): Pick<BurnDown, "projection" | "projectedLeftUsd" | "runsOutOn"> {
  const elapsed = daysBetween(`${today.slice(0, 7)}-01`, today) + 1;
  const perDay = spentUsd / elapsed;
  const last = monthEnd(today);
  const projection = daysOf({ from: today, to: last }).map((day, i) => ({ day, usd: limitUsd - spentUsd - perDay * i }));
  const projectedLeftUsd = limitUsd - perDay * (elapsed + daysBetween(today, last));
  let runsOutOn: string | null = null;
  if (spentUsd >= limitUsd) runsOutOn = today;
  else if (perDay > 0) {
    const day = shiftDay(today, Math.ceil((limitUsd - spentUsd) / perDay));
    runsOutOn = day <= last ? day : null;
  }
  return { projection, projectedLeftUsd, runsOutOn };
}
