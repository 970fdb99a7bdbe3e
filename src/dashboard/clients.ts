import { sql, type Kysely } from "kysely";
import { cacheHitRate } from "../ledger/index.ts";
import type { Database } from "../store/index.ts";
import { CLIENT_NOT_RECORDED } from "./names.ts";
import type { DayRange } from "./range.ts";

/**
 * Who used what, by coding client and by the client's session, and whether prompt caching
 * works (docs/dashboard.md, "Clients, sessions and the prompt cache"). Read from the ledger's
 * `client` and `session_id` columns (migration 012) and its token columns; portable SQL.
 */

/** A group's sums as the client, session and cache tables show them. */
export interface ClientUsage {
  key: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
  /** Requests with tokens on models without a price: their cost is unknown and not in costUsd. */
  unpricedRequests: number;
  /** Cache reads over all input (uncached input + cache reads + cache writes); null without input. */
  cacheHitRate: number | null;
}

export interface SessionUsage extends ClientUsage {
  /** The anonymous caller id of the session (a session id is the client's, so it is only ever counted with its caller). */
  callerId: string;
  client: string;
  /** The model the session spent most on; `otherModels` more were used. */
  model: string;
  otherModels: number;
  firstTs: number;
  lastTs: number;
}

export interface ClientsReport {
  clients: ClientUsage[];
  sessions: SessionUsage[];
  cache: { models: ClientUsage[]; clients: ClientUsage[]; users: ClientUsage[] };
  /** All of the range: the overall hit rate for the summary card. */
  cacheTotal: { cacheHitRate: number | null; cacheReadTokens: number; allInputTokens: number };
}

const sums = [
  sql<number>`count(*)`.as("requests"),
  sql<number>`coalesce(sum(input_tokens), 0)`.as("input_tokens"),
  sql<number>`coalesce(sum(output_tokens), 0)`.as("output_tokens"),
  sql<number>`coalesce(sum(cache_read_tokens), 0)`.as("cache_read_tokens"),
  sql<number>`coalesce(sum(cache_write_5m_tokens + cache_write_1h_tokens), 0)`.as("cache_write_tokens"),
  sql<number>`coalesce(sum(cost_usd), 0)`.as("cost_usd"),
  sql<number>`coalesce(sum(unpriced), 0)`.as("unpriced_requests"),
] as const;

function toUsage(key: string, row: Record<string, unknown>): ClientUsage {
  const u = {
    key,
    requests: Number(row["requests"]),
    inputTokens: Number(row["input_tokens"]),
    outputTokens: Number(row["output_tokens"]),
    cacheReadTokens: Number(row["cache_read_tokens"]),
    cacheWriteTokens: Number(row["cache_write_tokens"]),
    costUsd: Number(row["cost_usd"]),
    unpricedRequests: Number(row["unpriced_requests"]),
  };
  return { ...u, cacheHitRate: cacheHitRate(u) };
}

/** All input tokens of a group: what the hit rate divides by. */
const allInput = sql`sum(input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens)`;

/** Requests, tokens and cost per client; rows from before the client was recorded as "(not recorded)". */
export async function usageByClient(db: Kysely<Database>, range: DayRange): Promise<ClientUsage[]> {
  const rows = await db
    .selectFrom("ledger")
    .select([...sums, "client"])
    .where("day", ">=", range.from)
    .where("day", "<=", range.to)
    .groupBy("client")
    .orderBy(sql`sum(cost_usd)`, "desc")
    .orderBy(sql`count(*)`, "desc")
    .execute();
  return rows.map((r) => toUsage(r.client ?? CLIENT_NOT_RECORDED, r));
}

/**
 * The most expensive sessions: grouped by caller, session id and client, so two callers (or
 * two clients) that send the same session id are never one session. Then their top model.
 */
export async function topSessions(db: Kysely<Database>, range: DayRange, limit = 10): Promise<SessionUsage[]> {
  const rows = await db
    .selectFrom("ledger")
    .select([...sums, "caller_id", "session_id", "client", sql<number>`min(ts)`.as("first_ts"), sql<number>`max(ts)`.as("last_ts")])
    .where("day", ">=", range.from)
    .where("day", "<=", range.to)
    .where("session_id", "is not", null)
    .groupBy(["caller_id", "session_id", "client"])
    .orderBy(sql`sum(cost_usd)`, "desc")
    .orderBy(sql`sum(input_tokens + output_tokens + cache_read_tokens)`, "desc")
    .limit(limit)
    .execute();
  if (rows.length === 0) return [];
  const ids = [...new Set(rows.map((r) => r.session_id ?? ""))];
  const models = await db
    .selectFrom("ledger")
    .select(["caller_id", "session_id", "client", "model", sql<number>`coalesce(sum(cost_usd), 0)`.as("cost"), sql<number>`count(*)`.as("n")])
    .where("day", ">=", range.from)
    .where("day", "<=", range.to)
    .where("session_id", "in", ids)
    .groupBy(["caller_id", "session_id", "client", "model"])
    .execute();
  const byKey = new Map<string, Array<{ model: string; cost: number; n: number }>>();
  for (const m of models) {
    const key = sessionKey(m.caller_id, m.session_id, m.client);
    byKey.set(key, [...(byKey.get(key) ?? []), { model: m.model, cost: Number(m.cost), n: Number(m.n) }]);
  }
  return rows.map((r) => {
    const used = (byKey.get(sessionKey(r.caller_id, r.session_id, r.client)) ?? []).sort((a, b) => b.cost - a.cost || b.n - a.n || a.model.localeCompare(b.model));
    return {
      ...toUsage(r.session_id ?? "", r),
      callerId: r.caller_id,
      client: r.client ?? CLIENT_NOT_RECORDED,
      model: used[0]?.model ?? "unknown",
      otherModels: Math.max(0, used.length - 1),
      firstTs: Number(r.first_ts),
      lastTs: Number(r.last_ts),
    };
  });
}

function sessionKey(caller: string, session: string | null, client: string | null): string {
  return JSON.stringify([caller, session, client]);
}

type CacheColumn = "model" | "client" | "caller_id";

/** The prompt-cache hit rate per model, client or user (anonymous id), the groups with the most input first. */
export async function cacheHitBy(db: Kysely<Database>, range: DayRange, column: CacheColumn, limit = 10): Promise<ClientUsage[]> {
  const rows = await db
    .selectFrom("ledger")
    .select([...sums, sql<string | null>`${sql.ref(column)}`.as("key")])
    .where("day", ">=", range.from)
    .where("day", "<=", range.to)
    .groupBy(column)
    .having(allInput, ">", 0)
    .orderBy(allInput, "desc")
    .limit(limit)
    .execute();
  return rows.map((r) => toUsage(r.key ?? CLIENT_NOT_RECORDED, r));
}

/** Everything the per-client, per-session and cache sections show for a range. */
export async function clientsReport(db: Kysely<Database>, range: DayRange): Promise<ClientsReport> {
  const [clients, sessions, models, cacheClients, users] = await Promise.all([usageByClient(db, range), topSessions(db, range), cacheHitBy(db, range, "model"), cacheHitBy(db, range, "client"), cacheHitBy(db, range, "caller_id")]);
  // The card's rate is over the whole range, from the per-client sums (every row has one client group).
  const cacheReadTokens = clients.reduce((s, c) => s + c.cacheReadTokens, 0);
  const allInputTokens = clients.reduce((s, c) => s + c.inputTokens + c.cacheReadTokens + c.cacheWriteTokens, 0);
  return { clients, sessions, cache: { models, clients: cacheClients, users }, cacheTotal: { cacheReadTokens, allInputTokens, cacheHitRate: allInputTokens > 0 ? cacheReadTokens / allInputTokens : null } };
}
