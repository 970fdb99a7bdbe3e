import type { Kysely } from "kysely";
import type { Database } from "../store/index.ts";
import type { z } from "zod";
import type { requestRowSchema, requestsQuery } from "./schemas.ts";

export type RequestFilter = z.output<typeof requestsQuery>;
export type RequestRow = z.input<typeof requestRowSchema>;

/**
 * The ledger, one row per request, newest first, filtered. Paging by request id: ids are
 * UUIDv7, so "older than" is "less than" and the primary key serves it. Portable SQL (SQLite,
 * PostgreSQL, D1).
 */
export async function queryRequests(db: Kysely<Database>, filter: RequestFilter): Promise<{ requests: RequestRow[]; next: string | null }> {
  let q = db.selectFrom("ledger").selectAll().orderBy("request_id", "desc");
  if (filter.since !== undefined) q = q.where("ts", ">=", filter.since);
  if (filter.until !== undefined) q = q.where("ts", "<", filter.until);
  if (filter.caller !== undefined) q = q.where("caller_id", "=", filter.caller);
  if (filter.team !== undefined) q = q.where("team", "=", filter.team);
  if (filter.provider !== undefined) q = q.where("provider", "=", filter.provider);
  if (filter.model !== undefined) q = q.where("model", "=", filter.model);
  if (filter.client !== undefined) q = q.where("client", "=", filter.client);
  if (filter.outcome !== undefined) q = q.where("outcome", "=", filter.outcome);
  if (filter.status !== undefined) q = q.where("status", "=", filter.status);
  if (filter.minCostUsd !== undefined) q = q.where("cost_usd", ">=", filter.minCostUsd);
  if (filter.before !== undefined) q = q.where("request_id", "<", filter.before);
  // One more than asked for tells whether there is a next page.
  const rows = await q.limit(filter.limit + 1).execute();
  const page = rows.slice(0, filter.limit);
  return {
    requests: page.map((r) => ({
      requestId: r.request_id,
      ts: Number(r.ts),
      callerId: r.caller_id,
      team: r.team,
      provider: r.provider,
      model: r.model,
      requestedModel: r.requested_model,
      endpoint: r.endpoint,
      streamed: Number(r.streamed) === 1,
      status: Number(r.status),
      outcome: r.outcome,
      inputTokens: Number(r.input_tokens),
      outputTokens: Number(r.output_tokens),
      cacheReadTokens: Number(r.cache_read_tokens),
      cacheWriteTokens: Number(r.cache_write_5m_tokens) + Number(r.cache_write_1h_tokens),
      reasoningTokens: Number(r.reasoning_tokens),
      costUsd: Number(r.cost_usd),
      estimated: Number(r.estimated) === 1,
      unpriced: Number(r.unpriced) === 1,
      upstreamLatencyMs: r.upstream_latency_ms === null ? null : Number(r.upstream_latency_ms),
      ttfbMs: r.ttfb_ms === null ? null : Number(r.ttfb_ms),
      durationMs: Number(r.duration_ms),
      attempts: Number(r.attempts),
      errorCode: r.error_code,
      client: r.client,
      clientVersion: r.client_version,
      sessionId: r.session_id,
    })),
    next: rows.length > filter.limit ? (page[page.length - 1]?.request_id ?? null) : null,
  };
}
