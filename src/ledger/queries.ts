import { sql, type Kysely } from "kysely";
import type { Database } from "../store/index.ts";

export type UsageGroup = "day" | "provider" | "model" | "caller" | "team" | "client" | "session";

/** Every grouping `gatehouse usage --by` and the dashboard's CSV accept, in the order the help lists them. */
export const USAGE_GROUPS: readonly UsageGroup[] = ["day", "provider", "model", "caller", "team", "client", "session"];

export interface UsageQuery {
  groupBy: readonly UsageGroup[];
  /** Inclusive, YYYY-MM-DD. */
  since?: string | undefined;
  /** Inclusive, YYYY-MM-DD. */
  until?: string | undefined;
  limit?: number | undefined;
}

export interface UsageSummaryRow {
  /** The grouped keys' values; NULL in the ledger (no team, a row from before the client was recorded, no session) is undefined. */
  keys: Partial<Record<UsageGroup, string | undefined>>;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  costUsd: number;
  /** The part of costUsd priced from estimated usage (the provider's usage never arrived); absent = 0. */
  estimatedUsd?: number;
  /** Requests whose usage was estimated; absent = 0. */
  estimatedRequests?: number;
  /**
   * Requests with tokens on a model the gateway has no price for (policy.unpriced: allow):
   * their cost is unknown and NOT in costUsd, which is then a lower bound; with costUsd 0
   * the group's cost is unknown altogether (`costKnown`). Absent = 0.
   */
  unpricedRequests?: number;
  errors: number;
  /**
   * Prompt-cache hit rate: cache-read tokens / all input tokens (uncached input + cache reads
   * + cache writes), 0..1; null when the group had no input tokens. The ledger stores input
   * without cache reads and writes for every provider (the readers subtract what OpenAI and
   * Gemini include), so this is one formula for all. Absent when not computed.
   */
  cacheHitRate?: number | null;
}

/** The cache hit rate of summed tokens: cache reads over all input; null without input. */
export function cacheHitRate(t: { inputTokens: number; cacheReadTokens: number; cacheWriteTokens: number }): number | null {
  const all = t.inputTokens + t.cacheReadTokens + t.cacheWriteTokens;
  return all > 0 ? t.cacheReadTokens / all : null;
}

/**
 * What is known of a group's cost: "priced" (every request with tokens had a price),
 * "partial" (costUsd is what the priced ones cost, `unpricedRequests` more are unknown),
 * "unpriced" (nothing in it had a price: its cost is unknown, never $0).
 */
export function costKnown(r: Pick<UsageSummaryRow, "costUsd" | "unpricedRequests">): "priced" | "partial" | "unpriced" {
  if ((r.unpricedRequests ?? 0) === 0) return "priced";
  return r.costUsd > 0 ? "partial" : "unpriced";
}

/** A usage row as every JSON answer gives it (`gatehouse usage --format json`, `GET /admin/v1/usage`): `cost` says what is known, `costUsd` is null when nothing in the group had a price, so no reader takes an unknown cost for $0. */
export type UsageJsonRow = Omit<UsageSummaryRow, "costUsd"> & { costUsd: number | null; cost: "priced" | "partial" | "unpriced"; unpricedRequests: number; cacheHitRate: number | null };

export function usageJsonRow(r: UsageSummaryRow): UsageJsonRow {
  const cost = costKnown(r);
  return { ...r, costUsd: cost === "unpriced" ? null : r.costUsd, cost, unpricedRequests: r.unpricedRequests ?? 0, cacheHitRate: cacheHitRate(r) };
}

const column: Record<UsageGroup, "day" | "provider" | "model" | "caller_id" | "team" | "client" | "session_id"> = {
  day: "day",
  provider: "provider",
  model: "model",
  caller: "caller_id",
  team: "team",
  client: "client",
  session: "session_id",
};

/** Aggregates the ledger; portable SQL so it runs on SQLite, PostgreSQL and D1. */
export async function usageSummary(db: Kysely<Database>, query: UsageQuery): Promise<UsageSummaryRow[]> {
  const cols = query.groupBy.map((g) => column[g]);
  let q = db
    .selectFrom("ledger")
    .select([
      sql<number>`count(*)`.as("requests"),
      sql<number>`coalesce(sum(input_tokens), 0)`.as("input_tokens"),
      sql<number>`coalesce(sum(output_tokens), 0)`.as("output_tokens"),
      sql<number>`coalesce(sum(cache_read_tokens), 0)`.as("cache_read_tokens"),
      sql<number>`coalesce(sum(cache_write_5m_tokens + cache_write_1h_tokens), 0)`.as("cache_write_tokens"),
      sql<number>`coalesce(sum(reasoning_tokens), 0)`.as("reasoning_tokens"),
      sql<number>`coalesce(sum(cost_usd), 0)`.as("cost_usd"),
      sql<number>`coalesce(sum(case when estimated = 1 then cost_usd else 0 end), 0)`.as("estimated_usd"),
      sql<number>`coalesce(sum(estimated), 0)`.as("estimated_requests"),
      sql<number>`coalesce(sum(unpriced), 0)`.as("unpriced_requests"),
      sql<number>`coalesce(sum(case when status >= 400 or outcome <> 'completed' then 1 else 0 end), 0)`.as("errors"),
    ]);
  for (const col of cols) q = q.select(col);
  if (query.since) q = q.where("day", ">=", query.since);
  if (query.until) q = q.where("day", "<=", query.until);
  if (cols.length > 0) q = q.groupBy(cols);
  q = cols.length > 0 ? q.orderBy(cols[0] === "day" ? "day" : sql`sum(cost_usd)`, cols[0] === "day" ? "asc" : "desc").orderBy(sql`count(*)`, "desc") : q;
  if (query.limit) q = q.limit(query.limit);
  const rows = (await q.execute()) as unknown as Array<Record<string, string | number | null>>;
  return rows.map((row) => {
    const keys: Partial<Record<UsageGroup, string | undefined>> = {};
    for (const g of query.groupBy) {
      const v = row[column[g]];
      keys[g] = v === null || v === undefined ? undefined : String(v);
    }
    const summary: UsageSummaryRow = {
      keys,
      requests: Number(row["requests"]),
      inputTokens: Number(row["input_tokens"]),
      outputTokens: Number(row["output_tokens"]),
      cacheReadTokens: Number(row["cache_read_tokens"]),
      cacheWriteTokens: Number(row["cache_write_tokens"]),
      reasoningTokens: Number(row["reasoning_tokens"]),
      costUsd: Number(row["cost_usd"]),
      estimatedUsd: Number(row["estimated_usd"]),
      estimatedRequests: Number(row["estimated_requests"]),
      unpricedRequests: Number(row["unpriced_requests"]),
      errors: Number(row["errors"]),
    };
    summary.cacheHitRate = cacheHitRate(summary);
    return summary;
  });
}
