import type { Kysely, Selectable } from "kysely";
import type { Clock } from "../../core/clock.ts";
import { GatewayError } from "../../core/errors.ts";
import type { Database, ServiceAccountKeysTable, ServiceAccountsTable } from "../../store/schema.ts";
import { hashServiceAccountKey, keyHint, newServiceAccountKey } from "./keys.ts";
import { createServiceAccountSchema, serviceAccountLimitsSchema, serviceAccountScopesSchema, type CreateServiceAccount, type CreatedKey, type ServiceAccount, type ServiceAccountKey } from "./types.ts";

/**
 * The service-account service layer: what the CLI (and, later, the admin API) call. Every
 * instance reads the same store, so a key added or revoked on one is seen by all.
 */
export class ServiceAccounts {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {}

  /** Creates the account and its first key; the key text is returned once and never stored. */
  async create(input: CreateServiceAccount, keyTtlMs?: number): Promise<{ account: ServiceAccount; key: CreatedKey }> {
    const parsed = createServiceAccountSchema.parse(input);
    const existing = await this.db.selectFrom("service_accounts").select("id").where("name", "=", parsed.name).executeTakeFirst();
    if (existing) throw new GatewayError("conflict", `A service account named ${parsed.name} exists already; pick another name or add a key to it (gatehouse service-account key add ${parsed.name}).`);
    const now = this.clock.now();
    if (parsed.expiresAt !== undefined && parsed.expiresAt <= now) throw new GatewayError("bad_request", "The expiry is in the past.");
    const row: Selectable<ServiceAccountsTable> = {
      id: crypto.randomUUID(),
      name: parsed.name,
      owner_group: parsed.ownerGroup,
      scopes: JSON.stringify(parsed.scopes),
      limits: JSON.stringify(parsed.limits),
      created_at: now,
      created_by: parsed.createdBy,
      expires_at: parsed.expiresAt ?? null,
      disabled_at: null,
    };
    await this.db.insertInto("service_accounts").values(row).execute();
    const account = toAccount(row);
    return { account, key: await this.addKey(account.name, keyTtlMs) };
  }

  async list(): Promise<Array<ServiceAccount & { activeKeys: number }>> {
    const rows = await this.db.selectFrom("service_accounts").selectAll().orderBy("name").execute();
    const now = this.clock.now();
    const keys = await this.db.selectFrom("service_account_keys").select(["account_id", "expires_at"]).where("revoked_at", "is", null).execute();
    return rows.map((r) => ({ ...toAccount(r), activeKeys: keys.filter((k) => k.account_id === r.id && (k.expires_at === null || Number(k.expires_at) > now)).length }));
  }

  async byName(name: string): Promise<ServiceAccount> {
    const row = await this.db.selectFrom("service_accounts").selectAll().where("name", "=", name).executeTakeFirst();
    if (!row) throw new GatewayError("not_found", `No service account named ${name} (gatehouse service-account list shows them).`);
    return toAccount(row);
  }

  /** A further key, for rotation: the old ones keep working until revoked. */
  async addKey(name: string, ttlMs?: number): Promise<CreatedKey> {
    const account = await this.byName(name);
    const now = this.clock.now();
    const key = newServiceAccountKey();
    const row: Selectable<ServiceAccountKeysTable> = {
      id: crypto.randomUUID(),
      account_id: account.id,
      key_hash: await hashServiceAccountKey(key),
      hint: keyHint(key),
      created_at: now,
      expires_at: ttlMs === undefined ? null : now + ttlMs,
      revoked_at: null,
      revoked_reason: null,
    };
    await this.db.insertInto("service_account_keys").values(row).execute();
    return { key, record: toKey(row) };
  }

  async listKeys(name: string): Promise<ServiceAccountKey[]> {
    const account = await this.byName(name);
    const rows = await this.db.selectFrom("service_account_keys").selectAll().where("account_id", "=", account.id).orderBy("created_at").execute();
    return rows.map(toKey);
  }

  /** Revokes one key of the account by its id; running gateways refuse it within the poll interval. */
  async revokeKey(name: string, keyId: string, reason: string): Promise<void> {
    const account = await this.byName(name);
    const result = await this.db.updateTable("service_account_keys").set({ revoked_at: this.clock.now(), revoked_reason: reason }).where("id", "=", keyId).where("account_id", "=", account.id).where("revoked_at", "is", null).executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) throw new GatewayError("not_found", `Service account ${name} has no live key ${keyId} (gatehouse service-account key list ${name} shows them).`);
  }

  /** Disables the account: every key of it is refused within the poll interval; the account stays listed. */
  async disable(name: string): Promise<ServiceAccount> {
    const account = await this.byName(name);
    if (account.disabledAt !== null) throw new GatewayError("conflict", `Service account ${name} is disabled already.`);
    const at = this.clock.now();
    await this.db.updateTable("service_accounts").set({ disabled_at: at }).where("id", "=", account.id).where("disabled_at", "is", null).execute();
    return { ...account, disabledAt: at };
  }

  /**
   * Roll-over: a new key, and the old one kept working only until `graceMs` from now (or its
   * own earlier expiry). Both work until then; `revokeKey` ends the old one at once.
   */
  async rollOver(name: string, keyId: string, graceMs: number, ttlMs?: number): Promise<{ created: CreatedKey; old: ServiceAccountKey }> {
    const account = await this.byName(name);
    const old = await this.db.selectFrom("service_account_keys").selectAll().where("id", "=", keyId).where("account_id", "=", account.id).executeTakeFirst();
    const now = this.clock.now();
    if (!old || old.revoked_at !== null || (old.expires_at !== null && Number(old.expires_at) <= now)) {
      throw new GatewayError("not_found", `Service account ${name} has no live key ${keyId} (gatehouse service-account key list ${name} shows them).`);
    }
    const until = Math.min(now + graceMs, old.expires_at === null ? Number.POSITIVE_INFINITY : Number(old.expires_at));
    const created = await this.addKey(name, ttlMs);
    await this.db.updateTable("service_account_keys").set({ expires_at: until }).where("id", "=", keyId).execute();
    return { created, old: toKey({ ...old, expires_at: until }) };
  }

  /** The key and its account by the key's hash, or undefined; the verifier decides what is still valid. */
  async lookup(keyHash: string): Promise<{ key: ServiceAccountKey; account: ServiceAccount } | undefined> {
    const key = await this.db.selectFrom("service_account_keys").selectAll().where("key_hash", "=", keyHash).executeTakeFirst();
    if (!key) return undefined;
    const account = await this.db.selectFrom("service_accounts").selectAll().where("id", "=", key.account_id).executeTakeFirst();
    if (!account) return undefined;
    return { key: toKey(key), account: toAccount(account) };
  }
}

function toAccount(r: Selectable<ServiceAccountsTable>): ServiceAccount {
  return {
    id: r.id,
    name: r.name,
    ownerGroup: r.owner_group,
    scopes: serviceAccountScopesSchema.parse(JSON.parse(r.scopes)),
    limits: serviceAccountLimitsSchema.parse(JSON.parse(r.limits)),
    createdAt: Number(r.created_at),
    createdBy: r.created_by,
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    disabledAt: r.disabled_at === null ? null : Number(r.disabled_at),
  };
}

function toKey(r: Selectable<ServiceAccountKeysTable>): ServiceAccountKey {
  return {
    id: r.id,
    accountId: r.account_id,
    hint: r.hint,
    createdAt: Number(r.created_at),
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    revokedReason: r.revoked_reason,
  };
}
