import type { Kysely } from "kysely";
import type { Clock } from "../core/clock.ts";
import { GatewayError } from "../core/errors.ts";
import type { Database } from "../store/index.ts";
import { normalizeEmail } from "./anonymous-ids.ts";

/** What `identity_revocations` can name: a subject, an email, a token id, a group. */
export type RevocationKind = "sub" | "email" | "jti" | "group";
export const REVOCATION_KINDS: readonly RevocationKind[] = ["sub", "email", "jti", "group"];

export interface TokenRow {
  jti: string;
  callerId: string;
  source: string;
  issuedAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

/**
 * Admin operations on identities: listing and revoking tokens, and resolving an anonymous id
 * to an email. Resolving always writes an audit row first: no audit, no answer.
 */
export class IdentityAdmin {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {}

  async listTokens(filter: { email?: string; includeExpired?: boolean } = {}): Promise<TokenRow[]> {
    let query = this.db.selectFrom("issued_tokens").selectAll().orderBy("issued_at", "desc");
    if (!filter.includeExpired) query = query.where("expires_at", ">", this.clock.now());
    if (filter.email) {
      const identity = await this.db.selectFrom("identities").select("id").where("email", "=", normalizeEmail(filter.email)).executeTakeFirst();
      if (!identity) return [];
      query = query.where("caller_id", "=", identity.id);
    }
    const rows = await query.execute();
    return rows.map((r) => ({ jti: r.jti, callerId: r.caller_id, source: r.source, issuedAt: Number(r.issued_at), expiresAt: Number(r.expires_at), revokedAt: r.revoked_at === null ? null : Number(r.revoked_at) }));
  }

  /** Revokes one token by jti, or every live token of an email. Returns how many were revoked. */
  async revoke(target: { jti: string } | { email: string }, reason: string): Promise<number> {
    const now = this.clock.now();
    let query = this.db.updateTable("issued_tokens").set({ revoked_at: now, revoked_reason: reason }).where("revoked_at", "is", null);
    if ("jti" in target) {
      query = query.where("jti", "=", target.jti);
    } else {
      const identity = await this.db.selectFrom("identities").select("id").where("email", "=", normalizeEmail(target.email)).executeTakeFirst();
      if (!identity) return 0;
      query = query.where("caller_id", "=", identity.id).where("expires_at", ">", now);
    }
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /**
   * Revokes every token of a subject, email or group issued up to now, or one token id — including
   * tokens Gatehouse did not sign (jwt mode: the IdP's or the proxy's). Every instance refuses
   * them within GATEHOUSE_REVOCATION_POLL_MS; a token issued later (a new sign-in) works.
   */
  async revokeIdentity(target: { kind: RevocationKind; value: string }, reason: string, actor: string): Promise<{ id: string; revokedAt: number }> {
    const value = target.kind === "email" ? normalizeEmail(target.value) : target.value.trim();
    if (!value) throw new GatewayError("bad_request", `A ${target.kind} to revoke is required.`);
    if (target.kind === "email" && !/^[^\s@]+@[^\s@]+$/.test(value)) throw new GatewayError("bad_request", `"${target.value}" is not an email address.`);
    const row = { id: crypto.randomUUID(), kind: target.kind, value, revoked_at: this.clock.now(), reason, actor };
    await this.db.insertInto("identity_revocations").values(row).execute();
    return { id: row.id, revokedAt: row.revoked_at };
  }

  async listIdentityRevocations(limit = 200): Promise<Array<{ id: string; kind: string; value: string; revokedAt: number; reason: string; actor: string }>> {
    const rows = await this.db.selectFrom("identity_revocations").selectAll().orderBy("revoked_at", "desc").limit(limit).execute();
    return rows.map((r) => ({ id: r.id, kind: r.kind, value: r.value, revokedAt: Number(r.revoked_at), reason: r.reason, actor: r.actor }));
  }

  /** The email behind an anonymous id, after recording who asked and why. */
  async resolve(callerId: string, actor: string, reason: string): Promise<string | undefined> {
    if (!reason.trim()) throw new Error("A reason is required to resolve an anonymous id.");
    if (!actor.trim()) throw new Error("An actor is required to resolve an anonymous id.");
    await this.db.insertInto("identity_audit").values({ id: crypto.randomUUID(), ts: this.clock.now(), actor, action: "resolve", caller_id: callerId, reason }).execute();
    const row = await this.db.selectFrom("identities").select("email").where("id", "=", callerId).executeTakeFirst();
    return row?.email;
  }

  async auditLog(limit = 100): Promise<Array<{ ts: number; actor: string; action: string; callerId: string; reason: string }>> {
    const rows = await this.db.selectFrom("identity_audit").selectAll().orderBy("ts", "desc").limit(limit).execute();
    return rows.map((r) => ({ ts: Number(r.ts), actor: r.actor, action: r.action, callerId: r.caller_id, reason: r.reason }));
  }
}
