import { sql, type ExpressionBuilder, type Kysely } from "kysely";
import type { Database, StreamOutcome } from "../store/index.ts";
import type { CapturedBodiesTable } from "../store/schema.ts";

/**
 * The request log's reads (docs/dashboard.md#request-log): the ledger newest first, filtered,
 * a page at a time by the key (ts, request_id) — never OFFSET, so a page is as cheap deep in
 * the log as at its top, and rows written while someone pages neither repeat nor go missing.
 * Every filter is a bound parameter of a Kysely query: the same code on SQLite, PostgreSQL and D1.
 */

/**
 * The ledger column the `client` filter reads (migration 012, client/session columns). Set to
 * undefined on a ledger without one: the filter is then refused and its input disabled.
 */
export const CLIENT_COLUMN: "client" | undefined = "client";

export const OUTCOMES: readonly StreamOutcome[] = ["completed", "client_aborted", "upstream_failed", "not_forwarded"];

export interface RequestFilters {
  /** Epoch ms, inclusive. */
  since?: number | undefined;
  /** Epoch ms, exclusive. */
  until?: number | undefined;
  /** The caller's id (a person's anonymous id, or a service account's id). */
  caller?: string | undefined;
  /** A service account's name. */
  serviceAccount?: string | undefined;
  /** People only, or service accounts only. */
  callerKind?: "person" | "service" | undefined;
  /** The model that answered or the one asked for. */
  model?: string | undefined;
  provider?: string | undefined;
  client?: string | undefined;
  outcome?: StreamOutcome | undefined;
  /** Inclusive status range: `404` is 404–404, `5xx` is 500–599. */
  status?: { min: number; max: number } | undefined;
  minCostUsd?: number | undefined;
}

/** Where a page starts: below this key in (ts desc, request_id desc). */
export interface PageKey {
  ts: number;
  requestId: string;
}

export interface RequestSummary {
  requestId: string;
  ts: number;
  callerId: string;
  /** Set when the caller is a service account. */
  serviceAccount: string | null;
  team: string | null;
  provider: string;
  model: string;
  requestedModel: string | null;
  endpoint: string;
  /** The coding client that sent it (migration 012); null on rows written before the gateway recorded it. */
  client: string | null;
  status: number;
  outcome: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  unpriced: boolean;
  durationMs: number;
  errorCode: string | null;
  attempts: number;
}

export interface RequestPage {
  rows: RequestSummary[];
  /** The key of the next (older) page, when there is one. */
  next: PageKey | undefined;
}

export const PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

type Where = ExpressionBuilder<Database & { sa: Database["service_accounts"] }, "ledger" | "sa">;

/** The filters as one WHERE expression; each value is bound. */
function filtered(eb: Where, f: RequestFilters) {
  const parts = [];
  if (f.since !== undefined) parts.push(eb("ledger.ts", ">=", f.since));
  if (f.until !== undefined) parts.push(eb("ledger.ts", "<", f.until));
  if (f.caller !== undefined) parts.push(eb("ledger.caller_id", "=", f.caller));
  if (f.serviceAccount !== undefined) parts.push(eb("sa.name", "=", f.serviceAccount));
  if (f.callerKind === "person") parts.push(eb("sa.id", "is", null));
  if (f.callerKind === "service") parts.push(eb("sa.id", "is not", null));
  if (f.model !== undefined) parts.push(eb.or([eb("ledger.model", "=", f.model), eb("ledger.requested_model", "=", f.model)]));
  if (f.provider !== undefined) parts.push(eb("ledger.provider", "=", f.provider));
  if (f.client !== undefined && CLIENT_COLUMN !== undefined) parts.push(eb(sql.ref(`ledger.${CLIENT_COLUMN}`), "=", f.client));
  if (f.outcome !== undefined) parts.push(eb("ledger.outcome", "=", f.outcome));
  if (f.status !== undefined) parts.push(eb.between("ledger.status", f.status.min, f.status.max));
  if (f.minCostUsd !== undefined) parts.push(eb("ledger.cost_usd", ">=", f.minCostUsd));
  return eb.and(parts);
}

function base(db: Kysely<Database>) {
  return db.selectFrom("ledger").leftJoin("service_accounts as sa", "sa.id", "ledger.caller_id");
}

/** One page of the log, newest first, starting below `after` (or at the newest row). */
export async function listRequests(db: Kysely<Database>, filters: RequestFilters, after: PageKey | undefined, limit = PAGE_SIZE): Promise<RequestPage> {
  const rows = await base(db)
    .select([
      "ledger.request_id",
      "ledger.ts",
      "ledger.caller_id",
      "sa.name as service_account",
      "ledger.team",
      "ledger.provider",
      "ledger.model",
      "ledger.requested_model",
      "ledger.endpoint",
      "ledger.client",
      "ledger.status",
      "ledger.outcome",
      "ledger.input_tokens",
      "ledger.output_tokens",
      "ledger.cost_usd",
      "ledger.unpriced",
      "ledger.duration_ms",
      "ledger.error_code",
      "ledger.attempts",
    ])
    .where((eb) => {
      const f = filtered(eb, filters);
      if (!after) return f;
      return eb.and([f, eb.or([eb("ledger.ts", "<", after.ts), eb.and([eb("ledger.ts", "=", after.ts), eb("ledger.request_id", "<", after.requestId)])])]);
    })
    .orderBy("ledger.ts", "desc")
    .orderBy("ledger.request_id", "desc")
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit).map((r): RequestSummary => ({
    requestId: r.request_id,
    ts: Number(r.ts),
    callerId: r.caller_id,
    serviceAccount: r.service_account ?? null,
    team: r.team,
    provider: r.provider,
    model: r.model,
    requestedModel: r.requested_model,
    endpoint: r.endpoint,
    client: r.client,
    status: Number(r.status),
    outcome: r.outcome,
    inputTokens: Number(r.input_tokens),
    outputTokens: Number(r.output_tokens),
    costUsd: Number(r.cost_usd),
    unpriced: Number(r.unpriced) === 1,
    durationMs: Number(r.duration_ms),
    errorCode: r.error_code,
    attempts: Number(r.attempts),
  }));
  const last = page.at(-1);
  return { rows: page, next: rows.length > limit && last ? { ts: last.ts, requestId: last.requestId } : undefined };
}

export interface RequestDetail {
  /** Every ledger column of the row, as stored (later columns such as `client` appear when the ledger has them). */
  row: Record<string, string | number | null>;
  serviceAccount: string | null;
  bodies: CapturedBodiesTable | undefined;
}

/** One request: its ledger row, its service account's name, its captured bodies when there are any. */
export async function requestDetail(db: Kysely<Database>, requestId: string): Promise<RequestDetail | undefined> {
  const row = await base(db).selectAll("ledger").select("sa.name as service_account").where("ledger.request_id", "=", requestId).executeTakeFirst();
  if (!row) return undefined;
  const bodies = await db.selectFrom("captured_bodies").selectAll().where("request_id", "=", requestId).executeTakeFirst();
  const { service_account, ...ledger } = row as Record<string, string | number | null> & { service_account: string | null };
  return { row: ledger, serviceAccount: service_account ?? null, bodies };
}
