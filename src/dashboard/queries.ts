import { sql, type Kysely } from "kysely";
import type { Database } from "../store/index.ts";
import type { DayRange } from "./range.ts";
import { NO_TEAM } from "./names.ts";
import { isProviderId, providerById } from "../providers/index.ts";

/** "Frontier vs open-weight", from the provider's descriptor; a provider no longer registered counts as frontier. */
export const providerClass = (provider: string): "open-weight" | "frontier" => (isProviderId(provider) ? providerById(provider).modelClass : "frontier");

/** Denials: refused by policy before forwarding (auth failures and bad input are errors of the client, shown apart). */
export const DENIAL_CODES = ["rate_limited", "budget_exceeded", "forbidden"] as const;

export interface Totals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheTokens: number;
  costUsd: number;
  /** The part of costUsd priced from usage the gateway counted itself (docs/usage-and-pricing.md, "Estimated usage"). */
  estimatedUsd: number;
  /** Requests with tokens on models without a price: not in costUsd (policy.unpriced: allow). */
  unpricedRequests: number;
}

export interface Aggregate extends Totals {
  key: string;
}

export const sums = [
  sql<number>`count(*)`.as("requests"),
  sql<number>`coalesce(sum(input_tokens), 0)`.as("input_tokens"),
  sql<number>`coalesce(sum(output_tokens), 0)`.as("output_tokens"),
  sql<number>`coalesce(sum(cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens), 0)`.as("cache_tokens"),
  sql<number>`coalesce(sum(cost_usd), 0)`.as("cost_usd"),
  sql<number>`coalesce(sum(case when estimated = 1 then cost_usd else 0 end), 0)`.as("estimated_usd"),
  sql<number>`coalesce(sum(unpriced), 0)`.as("unpriced_requests"),
] as const;

export function toTotals(row: Record<string, unknown>): Totals {
  return {
    requests: Number(row["requests"]),
    inputTokens: Number(row["input_tokens"]),
    outputTokens: Number(row["output_tokens"]),
    cacheTokens: Number(row["cache_tokens"]),
    costUsd: Number(row["cost_usd"]),
    estimatedUsd: Number(row["estimated_usd"] ?? 0),
    unpricedRequests: Number(row["unpriced_requests"] ?? 0),
  };
}

export async function totals(db: Kysely<Database>, range: DayRange): Promise<Totals> {
  const row = await db
    .selectFrom("ledger")
    .select([...sums])
    .where("day", ">=", range.from)
    .where("day", "<=", range.to)
    .executeTakeFirstOrThrow();
  return toTotals(row);
}

type GroupColumn = "day" | "provider" | "model" | "team" | "caller_id";

/** Usage grouped by one column; the team of requests without one is NO_TEAM. */
export async function groupedBy(db: Kysely<Database>, range: DayRange, column: GroupColumn, limit?: number): Promise<Aggregate[]> {
  let q = db
    .selectFrom("ledger")
    .select([...sums, sql<string | null>`${sql.ref(column)}`.as("key")])
    .where("day", ">=", range.from)
    .where("day", "<=", range.to)
    .groupBy(column)
    .orderBy(column === "day" ? sql`${sql.ref("day")}` : sql`sum(cost_usd)`, column === "day" ? "asc" : "desc")
    .orderBy(sql`count(*)`, "desc");
  if (limit) q = q.limit(limit);
  const rows = await q.execute();
  return rows.map((r) => ({ key: r.key === null ? NO_TEAM : String(r.key), ...toTotals(r) }));
}

export interface ClassDay {
  day: string;
  frontierUsd: number;
  openWeightUsd: number;
}

export async function costByDayAndClass(db: Kysely<Database>, range: DayRange): Promise<ClassDay[]> {
  const rows = await db
    .selectFrom("ledger")
    .select(["day", sql<number>`coalesce(sum(case when provider = 'compat' then 0 else cost_usd end), 0)`.as("frontier"), sql<number>`coalesce(sum(case when provider = 'compat' then cost_usd else 0 end), 0)`.as("open_weight")])
    .where("day", ">=", range.from)
    .where("day", "<=", range.to)
    .groupBy("day")
    .orderBy("day")
    .execute();
  return rows.map((r) => ({ day: r.day, frontierUsd: Number(r.frontier), openWeightUsd: Number(r.open_weight) }));
}

export interface Outcomes {
  /** All rows in range. */
  total: number;
  /** Rows that reached an upstream. */
  forwarded: number;
  /** Forwarded rows that failed: status >= 400, upstream failure. */
  errors: number;
  /** Rows refused by policy, by code. */
  denials: Record<string, number>;
  /** Rows refused for other reasons (auth, bad input, not configured), by code. */
  rejected: Record<string, number>;
}

export async function outcomes(db: Kysely<Database>, range: DayRange): Promise<Outcomes> {
  const rows = await db
    .selectFrom("ledger")
    .select(["outcome", "error_code", sql<number>`count(*)`.as("n"), sql<number>`coalesce(sum(case when status >= 400 or outcome = 'upstream_failed' then 1 else 0 end), 0)`.as("failed")])
    .where("day", ">=", range.from)
    .where("day", "<=", range.to)
    .groupBy(["outcome", "error_code"])
    .execute();
  const result: Outcomes = { total: 0, forwarded: 0, errors: 0, denials: {}, rejected: {} };
  for (const r of rows) {
    const n = Number(r.n);
    result.total += n;
    if (r.outcome === "not_forwarded") {
      const code = r.error_code ?? "unknown";
      const bucket = (DENIAL_CODES as readonly string[]).includes(code) ? result.denials : result.rejected;
      bucket[code] = (bucket[code] ?? 0) + n;
    } else {
      result.forwarded += n;
      result.errors += Number(r.failed);
    }
  }
  return result;
}

export interface Percentiles {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

/** Upper bound on rows read for percentiles: the newest ones in the range. */
export const PERCENTILE_SAMPLE = 100_000;

/** Nearest-rank percentiles of whole-request duration and time to first byte, over forwarded requests. */
export async function latency(db: Kysely<Database>, range: DayRange): Promise<{ duration: Percentiles; ttfb: Percentiles }> {
  const rows = await db.selectFrom("ledger").select(["duration_ms", "ttfb_ms"]).where("day", ">=", range.from).where("day", "<=", range.to).where("outcome", "<>", "not_forwarded").orderBy("ts", "desc").limit(PERCENTILE_SAMPLE).execute();
  const durations = rows.map((r) => Number(r.duration_ms));
  const ttfbs = rows.filter((r) => r.ttfb_ms !== null).map((r) => Number(r.ttfb_ms));
  return { duration: percentiles(durations), ttfb: percentiles(ttfbs) };
}

export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): number | null => (sorted.length === 0 ? null : (sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? null));
  return { count: sorted.length, p50: at(50), p90: at(90), p99: at(99) };
}

/** Spend per day of one month for each group, through the caller_groups membership table. */
export async function groupSpendByDay(db: Kysely<Database>, monthStart: string, monthEnd: string, groups: readonly string[]): Promise<Map<string, Map<string, number>>> {
  const result = new Map<string, Map<string, number>>();
  if (groups.length === 0) return result;
  const rows = await db
    .selectFrom("ledger")
    .innerJoin("caller_groups", "caller_groups.caller_id", "ledger.caller_id")
    .select(["caller_groups.group_name as group_name", "ledger.day as day", sql<number>`coalesce(sum(ledger.cost_usd), 0)`.as("cost")])
    .where("ledger.day", ">=", monthStart)
    .where("ledger.day", "<=", monthEnd)
    .where("caller_groups.group_name", "in", [...groups])
    .groupBy(["caller_groups.group_name", "ledger.day"])
    .execute();
  for (const r of rows) {
    let days = result.get(r.group_name);
    if (!days) result.set(r.group_name, (days = new Map<string, number>()));
    days.set(r.day, Number(r.cost));
  }
  return result;
}

/** A group's spend from `sinceTs` (a budget reset) to now, and the part of it on the reset's own day. */
export async function groupSpendSince(db: Kysely<Database>, group: string, sinceTs: number): Promise<{ total: number; onResetDay: number }> {
  const resetDay = new Date(sinceTs).toISOString().slice(0, 10);
  const rows = await db
    .selectFrom("ledger")
    .innerJoin("caller_groups", "caller_groups.caller_id", "ledger.caller_id")
    .select(["ledger.day as day", sql<number>`coalesce(sum(ledger.cost_usd), 0)`.as("cost")])
    .where("ledger.ts", ">=", sinceTs)
    .where("caller_groups.group_name", "=", group)
    .groupBy("ledger.day")
    .execute();
  let total = 0;
  let onResetDay = 0;
  for (const r of rows) {
    total += Number(r.cost);
    if (r.day === resetDay) onResetDay = Number(r.cost);
  }
  return { total, onResetDay };
}

/** One caller's spend from `sinceTs` (a budget reset) to now. */
export async function callerSpendSince(db: Kysely<Database>, callerId: string, sinceTs: number): Promise<number> {
  const row = await db
    .selectFrom("ledger")
    .select(sql<number>`coalesce(sum(cost_usd), 0)`.as("cost"))
    .where("caller_id", "=", callerId)
    .where("ts", ">=", sinceTs)
    .executeTakeFirst();
  return Number(row?.cost ?? 0);
}

/** Month-to-date spend per caller with their recorded groups, for per-user budget burn. */
export async function callerMonthSpend(db: Kysely<Database>, monthStart: string, today: string, limit: number): Promise<Array<{ callerId: string; costUsd: number; groups: string[] }>> {
  const rows = await db
    .selectFrom("ledger")
    .select(["caller_id", sql<number>`coalesce(sum(cost_usd), 0)`.as("cost")])
    .where("day", ">=", monthStart)
    .where("day", "<=", today)
    .groupBy("caller_id")
    .orderBy(sql`sum(cost_usd)`, "desc")
    .limit(limit)
    .execute();
  if (rows.length === 0) return [];
  const memberships = await db
    .selectFrom("caller_groups")
    .select(["caller_id", "group_name"])
    .where(
      "caller_id",
      "in",
      rows.map((r) => r.caller_id),
    )
    .execute();
  const byCaller = new Map<string, string[]>();
  for (const m of memberships) byCaller.set(m.caller_id, [...(byCaller.get(m.caller_id) ?? []), m.group_name]);
  return rows.map((r) => ({ callerId: r.caller_id, costUsd: Number(r.cost), groups: (byCaller.get(r.caller_id) ?? []).sort() }));
}
