import type { Kysely } from "kysely";
import { ZodError } from "zod";
import type { Clock } from "../core/clock.ts";
import { GatewayError, toGatewayError } from "../core/errors.ts";
import type { Database } from "../store/index.ts";
import { IdentityAdmin, type RevocationKind, type TokenRow } from "./admin.ts";
import { AdminAuditLog, type AdminContext, type AuditDetail } from "./admin-audit.ts";
import { normalizeEmail } from "./anonymous-ids.ts";
import type { RevocationList } from "./revocations.ts";
import { ServiceAccounts } from "./service-accounts/store.ts";
import type { CreateServiceAccount, CreatedKey, ServiceAccount, ServiceAccountKey } from "./service-accounts/types.ts";

export interface AdminServiceOptions {
  /** This instance's revocation list, re-read at once after a revocation (the others within their poll interval). */
  revocations?: RevocationList | undefined;
  /** This instance's verified-key cache: an account's keys are read again at once after a revocation made here. */
  keys?: { forgetAccount(accountId: string): void } | undefined;
}

export interface RevocationResult {
  /** The identity_revocations row (every token of the target issued up to `revokedAt` is refused). */
  id: string;
  kind: RevocationKind;
  value: string;
  revokedAt: number;
  /** Gatehouse-issued tokens marked revoked in issued_tokens (by id or email); 0 for sub and group. */
  gatehouseTokens: number;
}

/** Default grace of a roll-over: the old key works for one more day, then expires. */
export const DEFAULT_ROLLOVER_GRACE_MS = 24 * 3_600_000;

/**
 * The one service layer of admin actions, called by the admin API (/admin/v1) and by the CLI
 * (`gatehouse service-account`, `gatehouse token`). Every action that changes something is
 * written to the admin audit log before it runs and settled after it; reads are not logged.
 */
export class AdminService {
  readonly accounts: ServiceAccounts;
  readonly identities: IdentityAdmin;
  readonly audit: AdminAuditLog;

  constructor(
    db: Kysely<Database>,
    clock: Clock,
    private readonly options: AdminServiceOptions = {},
  ) {
    this.accounts = new ServiceAccounts(db, clock);
    this.identities = new IdentityAdmin(db, clock);
    this.audit = new AdminAuditLog(db, clock);
  }

  // ── service accounts ────────────────────────────────────────────────────────────────────

  createServiceAccount(ctx: AdminContext, input: Omit<CreateServiceAccount, "createdBy">, keyTtlMs?: number): Promise<{ account: ServiceAccount; key: CreatedKey }> {
    return this.act(ctx, "service_account.create", `service-account:${input.name}`, { keyTtlMs: keyTtlMs ?? null }, async () => {
      const created = await this.accounts.create({ ...input, createdBy: ctx.actor.name }, keyTtlMs);
      return { result: created, detail: { accountId: created.account.id, ...keyFacts(created.key.record) } };
    });
  }

  listServiceAccounts(): Promise<Array<ServiceAccount & { activeKeys: number }>> {
    return this.accounts.list();
  }

  async getServiceAccount(name: string): Promise<{ account: ServiceAccount; keys: ServiceAccountKey[] }> {
    const account = await this.accounts.byName(name);
    return { account, keys: await this.accounts.listKeys(name) };
  }

  disableServiceAccount(ctx: AdminContext, name: string, reason: string): Promise<ServiceAccount> {
    return this.act(ctx, "service_account.disable", `service-account:${name}`, { reason }, async () => {
      const account = await this.accounts.disable(name);
      this.options.keys?.forgetAccount(account.id);
      return { result: account, detail: { accountId: account.id } };
    });
  }

  addKey(ctx: AdminContext, name: string, ttlMs?: number): Promise<CreatedKey> {
    return this.act(ctx, "key.create", `service-account:${name}`, { ttlMs: ttlMs ?? null }, async () => {
      const created = await this.accounts.addKey(name, ttlMs);
      return { result: created, detail: keyFacts(created.record) };
    });
  }

  listKeys(name: string): Promise<ServiceAccountKey[]> {
    return this.accounts.listKeys(name);
  }

  rollOverKey(ctx: AdminContext, name: string, keyId: string, graceMs: number, ttlMs?: number): Promise<{ created: CreatedKey; old: ServiceAccountKey }> {
    return this.act(ctx, "key.rollover", `key:${keyId}`, { account: name, graceMs, ttlMs: ttlMs ?? null }, async () => {
      const rolled = await this.accounts.rollOver(name, keyId, graceMs, ttlMs);
      return { result: rolled, detail: { ...keyFacts(rolled.created.record), oldKeyExpiresAt: rolled.old.expiresAt } };
    });
  }

  revokeKey(ctx: AdminContext, name: string, keyId: string, reason: string): Promise<void> {
    return this.act(ctx, "key.revoke", `key:${keyId}`, { account: name, reason }, async () => {
      await this.accounts.revokeKey(name, keyId, reason);
      this.options.keys?.forgetAccount((await this.accounts.byName(name)).id);
      return { result: undefined, detail: {} };
    });
  }

  // ── people's tokens ─────────────────────────────────────────────────────────────────────

  listTokens(filter: { email?: string; includeExpired?: boolean } = {}): Promise<TokenRow[]> {
    return this.identities.listTokens(filter);
  }

  listRevocations(limit?: number): ReturnType<IdentityAdmin["listIdentityRevocations"]> {
    return this.identities.listIdentityRevocations(limit);
  }

  /**
   * Revokes by token id, email, subject or group. By id and email the Gatehouse-issued tokens
   * are marked revoked too; the identity_revocations row covers every other token (jwt mode:
   * the proxy's or the IdP's), so one call works in every auth mode.
   */
  revoke(ctx: AdminContext, kind: RevocationKind, value: string, reason: string): Promise<RevocationResult> {
    const shown = kind === "email" ? normalizeEmail(value) : value.trim();
    return this.act(ctx, `token.revoke_${kind}`, `${kind}:${shown}`, { reason }, async () => {
      if (!shown) throw new GatewayError("bad_request", `A ${kind} to revoke is required.`);
      let gatehouseTokens = 0;
      if (kind === "jti") gatehouseTokens = await this.identities.revoke({ jti: shown }, reason);
      if (kind === "email") gatehouseTokens = await this.identities.revoke({ email: shown }, reason);
      const row = await this.identities.revokeIdentity({ kind, value: shown }, reason, ctx.actor.name);
      // This instance refuses at once; the others re-read within their poll interval.
      await this.options.revocations?.refresh();
      return { result: { id: row.id, kind, value: shown, revokedAt: row.revokedAt, gatehouseTokens }, detail: { revocationId: row.id, gatehouseTokens } };
    });
  }

  /** `gatehouse token issue`: audited like every other action (the token itself never is). */
  issueToken<T extends { jti: string; expiresAt: number }>(ctx: AdminContext, email: string, groups: readonly string[], issue: () => Promise<T>): Promise<T> {
    return this.act(ctx, "token.issue", `email:${normalizeEmail(email)}`, { groups: groups.join(",") }, async () => {
      const issued = await issue();
      return { result: issued, detail: { jti: issued.jti, expiresAt: issued.expiresAt } };
    });
  }

  /**
   * Runs one audited action: the `started` row first (no row, no action), then the action, then
   * the outcome. A failed action keeps its error's code and message (never a secret: they are
   * the gateway's own words) and is rethrown.
   */
  private async act<T>(ctx: AdminContext, action: string, target: string, detail: AuditDetail, run: () => Promise<{ result: T; detail: AuditDetail }>): Promise<T> {
    const entry = await this.audit.begin(ctx, action, target, detail);
    let outcome: { result: T; detail: AuditDetail };
    try {
      outcome = await run();
    } catch (err) {
      const failure = asActionError(err);
      await this.audit.settle(entry, "failed", { error: failure.code, message: failure.code === "internal" ? "internal error" : failure.message });
      throw failure.code === "internal" ? err : failure;
    }
    await this.audit.settle(entry, "ok", outcome.detail);
    return outcome.result;
  }
}

/** A zod refusal of the input is the caller's mistake: a 400 that names each problem. */
function asActionError(err: unknown): GatewayError {
  if (err instanceof ZodError) return new GatewayError("bad_request", err.issues.map((i) => `${i.path.length ? `${i.path.join(".")}: ` : ""}${i.message}`).join("; "), { cause: err });
  return toGatewayError(err);
}

/** A created key as the log keeps it: its id and hint (the first characters), never the key. */
function keyFacts(record: ServiceAccountKey): AuditDetail {
  return { keyId: record.id, keyHint: record.hint, keyExpiresAt: record.expiresAt };
}
