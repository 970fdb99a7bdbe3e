import type { Kysely } from "kysely";
import type { Database } from "../store/index.ts";
import type { Logger } from "../core/logger.ts";
import { describeError } from "../core/app.ts";

/**
 * ok / tool_error: the upstream answered (tool_error: with isError). denied: the policy or the
 * server's tool allow-list hides it. not_found: no such server, tool or resource. too_large:
 * arguments over the server's maxArgumentBytes (never sent). cancelled: the client cancelled.
 * timeout: the upstream did not answer in timeoutMs. unavailable: the server's breaker is open
 * (refused without a request). upstream_error: any other failure towards the upstream.
 */
export const AUDIT_OUTCOMES = ["ok", "tool_error", "denied", "not_found", "too_large", "cancelled", "upstream_error", "timeout", "unavailable"] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** Stored arguments / results larger than this are replaced by a marker with their size. */
export const MAX_AUDIT_JSON_BYTES = 16 * 1024;

export interface AuditEntry {
  id: string;
  ts: number;
  callerId: string;
  team: string | null;
  sessionId: string | null;
  serverId: string;
  tool: string;
  via: "direct" | "codemode";
  outcome: AuditOutcome;
  durationMs: number;
  error: string | null;
  argumentsJson: string | null;
  resultJson: string | null;
}

/**
 * Writes audit rows without making the tool call wait for the database; `flush()` awaits
 * what is in flight (tests, shutdown). A failed write is logged, never thrown at the user.
 */
export class AuditLog {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly logger: Logger,
  ) {}

  record(entry: AuditEntry): void {
    const write = this.db
      .insertInto("mcp_audit")
      .values({
        id: entry.id,
        ts: entry.ts,
        caller_id: entry.callerId,
        team: entry.team,
        session_id: entry.sessionId,
        server_id: entry.serverId,
        tool: entry.tool,
        via: entry.via,
        outcome: entry.outcome,
        duration_ms: entry.durationMs,
        error: entry.error,
        arguments_json: capped(entry.argumentsJson),
        result_json: capped(entry.resultJson),
      })
      .execute()
      .then(
        () => undefined,
        (err: unknown) => this.logger.error({ err: describeError(err), server: entry.serverId, tool: entry.tool }, "mcp audit write failed"),
      );
    this.inFlight.add(write);
    void write.finally(() => this.inFlight.delete(write));
  }

  async flush(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }
}

/** An audit column stays bounded: over the cap it becomes `{"truncated":true,"bytes":N}` (valid JSON, no content). */
export function capped(json: string | null): string | null {
  if (json === null || json.length <= MAX_AUDIT_JSON_BYTES / 3) return json;
  const bytes = new TextEncoder().encode(json).byteLength;
  return bytes <= MAX_AUDIT_JSON_BYTES ? json : JSON.stringify({ truncated: true, bytes });
}

export interface AuditFilter {
  callerId?: string;
  serverId?: string;
  tool?: string;
  outcome?: AuditOutcome;
  /** Inclusive lower bound, ms since epoch. */
  since?: number;
  /** Exclusive upper bound, ms since epoch. */
  until?: number;
  /** Newest first; default 100, at most 1000. */
  limit?: number;
  offset?: number;
}

/** The dashboard's view of the audit log: newest first, filtered. Portable Kysely only. */
export async function listAuditEntries(db: Kysely<Database>, filter: AuditFilter = {}): Promise<AuditEntry[]> {
  let query = db.selectFrom("mcp_audit").selectAll();
  if (filter.callerId !== undefined) query = query.where("caller_id", "=", filter.callerId);
  if (filter.serverId !== undefined) query = query.where("server_id", "=", filter.serverId);
  if (filter.tool !== undefined) query = query.where("tool", "=", filter.tool);
  if (filter.outcome !== undefined) query = query.where("outcome", "=", filter.outcome);
  if (filter.since !== undefined) query = query.where("ts", ">=", filter.since);
  if (filter.until !== undefined) query = query.where("ts", "<", filter.until);
  const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000);
  const rows = await query
    .orderBy("ts", "desc")
    .orderBy("id", "desc")
    .limit(limit)
    .offset(Math.max(filter.offset ?? 0, 0))
    .execute();
  return rows.map((row) => ({
    id: row.id,
    ts: Number(row.ts),
    callerId: row.caller_id,
    team: row.team,
    sessionId: row.session_id,
    serverId: row.server_id,
    tool: row.tool,
    via: row.via === "codemode" ? "codemode" : "direct",
    outcome: row.outcome as AuditOutcome,
    durationMs: Number(row.duration_ms),
    error: row.error,
    argumentsJson: row.arguments_json,
    resultJson: row.result_json,
  }));
}
