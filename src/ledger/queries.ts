import { sql, type Kysely } from "kysely";
import type { Database } from "../store/index.ts";

export type UsageGroup = "day" | "provider" | "model" | "caller" | "team";

export interface UsageQuery {
  groupBy: readonly UsageGroup[];
  /** Inclusive, YYYY-MM-DD. */
  since?: string | undefined;
  /** Inclusive, YYYY-MM-DD. */
  until?: string | undefined;
  limit?: number | undefined;
}

export interface UsageSummaryRow {
  keys: Record<UsageGroup, string | undefined>;
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
  /** Requests with tokens on a model the gateway has no price for (counted as $0; policy.unpriced: allow); absent = 0. */
  unpricedRequests?: number;
  errors: number;
}

const column: Record<UsageGroup, "day" | "provider" | "model" | "caller_id" | "team"> = {
  day: "day",
  provider: "provider",
  model: "model",
  caller: "caller_id",
  team: "team",
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
  q = cols.length > 0 ? q.orderBy(cols[0] === "day" ? "day" : sql`sum(cost_usd)`, cols[0] === "day" ? "asc" : "desc") : q;
  if (query.limit) q = q.limit(query.limit);
  const rows = (await q.execute()) as unknown as Array<Record<string, string | number | null>>;
  return rows.map((row) => {
    const keys = {} as Record<UsageGroup, string | undefined>;
    for (const g of query.groupBy) {
      const v = row[column[g]];
      keys[g] = v === null || v === undefined ? undefined : String(v);
    }
    return {
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
  });
}
