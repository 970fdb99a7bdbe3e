import type { Kysely, Selectable } from "kysely";
import type { Clock } from "../core/clock.ts";
import type { AdminAuditTable, Database } from "../store/schema.ts";

/** Who made an admin call: a person (by anonymous id), a service account's key, or the CLI on the store's host. */
export interface AdminActor {
  kind: "person" | "service_account" | "cli";
  /** Anonymous caller id, service account id, or the OS user. */
  id: string;
  /** What an admin reads in the log: the email, the account's name, `cli:<user>`. */
  name: string;
}

/** Who, and from where: handed to every action of the service layer. */
export interface AdminContext {
  actor: AdminActor;
  via: "api" | "cli";
  ip?: string | undefined;
  userAgent?: string | undefined;
  requestId?: string | undefined;
}

export type AdminOutcome = "started" | "ok" | "failed" | "denied";

/** Facts worth keeping with an entry. Never a secret: a key appears by id and hint only. */
export type AuditDetail = Record<string, string | number | boolean | null>;

export interface AdminAuditEntry {
  id: string;
  ts: number;
  actor: AdminActor;
  action: string;
  target: string;
  outcome: AdminOutcome;
  detail: AuditDetail;
  via: "api" | "cli";
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

export interface AuditQuery {
  /** Epoch ms, inclusive. */
  since?: number | undefined;
  /** Epoch ms, exclusive. */
  until?: number | undefined;
  actorId?: string | undefined;
  action?: string | undefined;
  outcome?: AdminOutcome | undefined;
  limit?: number | undefined;
}

/** Cut so one entry stays small; an error message or a reason is never longer than that in practice. */
const MAX_TEXT = 500;
/** A client's User-Agent is the client's to choose: kept, but cut. */
const MAX_USER_AGENT = 200;

/**
 * The admin audit log (`admin_audit`). An action is recorded before it runs (`started`) and
 * settled after (`ok` / `failed`): when the store does not take the first row the action does
 * not run, so nothing changes without a row. A refused call is one `denied` row.
 */
export class AdminAuditLog {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {}

  /** Writes the `started` row; throws (and the caller must not act) when the store did not take it. */
  async begin(ctx: AdminContext, action: string, target: string, detail: AuditDetail = {}): Promise<string> {
    const id = crypto.randomUUID();
    await this.db
      .insertInto("admin_audit")
      .values(this.row(id, ctx, action, target, "started", detail))
      .execute();
    return id;
  }

  /** Settles a begun entry with the outcome and more facts (a created key's id and hint, a count, an error's message). */
  async settle(id: string, outcome: "ok" | "failed", detail: AuditDetail): Promise<void> {
    const existing = await this.db.selectFrom("admin_audit").select("detail").where("id", "=", id).executeTakeFirst();
    const merged = { ...(existing ? (JSON.parse(existing.detail) as AuditDetail) : {}), ...detail };
    await this.db
      .updateTable("admin_audit")
      .set({ outcome, detail: encodeDetail(merged) })
      .where("id", "=", id)
      .execute();
  }

  /** One row for a call refused before it ran (not an admin, a missing scope). */
  async denied(ctx: AdminContext, action: string, target: string, detail: AuditDetail = {}): Promise<void> {
    await this.db
      .insertInto("admin_audit")
      .values(this.row(crypto.randomUUID(), ctx, action, target, "denied", detail))
      .execute();
  }

  async list(query: AuditQuery = {}): Promise<AdminAuditEntry[]> {
    let q = this.db.selectFrom("admin_audit").selectAll().orderBy("ts", "desc").orderBy("id", "desc");
    if (query.since !== undefined) q = q.where("ts", ">=", query.since);
    if (query.until !== undefined) q = q.where("ts", "<", query.until);
    if (query.actorId !== undefined) q = q.where("actor_id", "=", query.actorId);
    if (query.action !== undefined) q = q.where("action", "=", query.action);
    if (query.outcome !== undefined) q = q.where("outcome", "=", query.outcome);
    const rows = await q.limit(Math.min(query.limit ?? 100, 1000)).execute();
    return rows.map(toEntry);
  }

  private row(id: string, ctx: AdminContext, action: string, target: string, outcome: AdminOutcome, detail: AuditDetail): Selectable<AdminAuditTable> {
    return {
      id,
      ts: this.clock.now(),
      actor_kind: ctx.actor.kind,
      actor_id: ctx.actor.id,
      actor_name: cut(ctx.actor.name, MAX_TEXT),
      action,
      target: cut(target, MAX_TEXT),
      outcome,
      detail: encodeDetail(detail),
      via: ctx.via,
      ip: ctx.ip ?? null,
      user_agent: ctx.userAgent === undefined ? null : cut(ctx.userAgent, MAX_USER_AGENT),
      request_id: ctx.requestId ?? null,
    };
  }
}

function encodeDetail(detail: AuditDetail): string {
  const out: AuditDetail = {};
  for (const [k, v] of Object.entries(detail)) out[k] = typeof v === "string" ? cut(v, MAX_TEXT) : v;
  return JSON.stringify(out);
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function toEntry(r: Selectable<AdminAuditTable>): AdminAuditEntry {
  return {
    id: r.id,
    ts: Number(r.ts),
    actor: { kind: r.actor_kind as AdminActor["kind"], id: r.actor_id, name: r.actor_name },
    action: r.action,
    target: r.target,
    outcome: r.outcome as AdminOutcome,
    detail: JSON.parse(r.detail) as AuditDetail,
    via: r.via as "api" | "cli",
    ip: r.ip,
    userAgent: r.user_agent,
    requestId: r.request_id,
  };
}
