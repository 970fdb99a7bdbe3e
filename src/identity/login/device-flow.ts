import type { Kysely, Selectable } from "kysely";
import type { Clock } from "../../core/clock.ts";
import type { Database, LoginRequestsTable } from "../../store/schema.ts";
import { normalizeUserCode, randomToken, randomUserCode, sha256Base64url } from "./codes.ts";

export const LOGIN_TTL_MS = 10 * 60_000;
/** Seconds between polls the CLI is told to keep (RFC 8628 `interval`). */
export const POLL_INTERVAL_SECONDS = 1;

export type LoginRequest = Selectable<LoginRequestsTable>;

export type PollResult = { status: "pending" } | { status: "slow_down" } | { status: "expired" } | { status: "denied" } | { status: "approved"; email: string; groups: string[] };

/**
 * Pending `gatehouse login` requests, in the store so any gateway instance can serve any
 * step. The device code is a bearer secret: only its hash is stored.
 */
export class LoginRequests {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {}

  async start(): Promise<{ deviceCode: string; userCode: string; expiresInSeconds: number }> {
    const deviceCode = randomToken();
    const now = this.clock.now();
    await this.db.deleteFrom("login_requests").where("expires_at", "<", now).execute();
    for (let attempt = 0; ; attempt++) {
      const userCode = randomUserCode();
      const clash = await this.db.selectFrom("login_requests").select("user_code").where("user_code", "=", userCode).executeTakeFirst();
      if (clash && attempt < 5) continue;
      if (clash) throw new Error("could not allocate a unique user code");
      await this.db
        .insertInto("login_requests")
        .values({ device_code_hash: await sha256Base64url(deviceCode), user_code: userCode, state: null, code_verifier: null, nonce: null, status: "pending", email: null, groups: null, created_at: now, expires_at: now + LOGIN_TTL_MS, last_poll_at: null })
        .execute();
      return { deviceCode, userCode, expiresInSeconds: LOGIN_TTL_MS / 1000 };
    }
  }

  /** A pending, unexpired request by the code the user typed or followed. */
  async pendingByUserCode(input: string): Promise<LoginRequest | undefined> {
    const row = await this.db.selectFrom("login_requests").selectAll().where("user_code", "=", normalizeUserCode(input)).executeTakeFirst();
    if (!row || row.status !== "pending" || row.expires_at <= this.clock.now()) return undefined;
    return row;
  }

  async pendingByState(state: string): Promise<LoginRequest | undefined> {
    const row = await this.db.selectFrom("login_requests").selectAll().where("state", "=", state).executeTakeFirst();
    if (!row || row.status !== "pending" || row.expires_at <= this.clock.now()) return undefined;
    return row;
  }

  async attachAuthorization(userCode: string, values: { state: string; codeVerifier: string; nonce: string }): Promise<void> {
    await this.db.updateTable("login_requests").set({ state: values.state, code_verifier: values.codeVerifier, nonce: values.nonce }).where("user_code", "=", userCode).where("status", "=", "pending").execute();
  }

  async approve(userCode: string, email: string, groups: readonly string[]): Promise<void> {
    await this.db
      .updateTable("login_requests")
      // The state is single-use: clearing it makes a replayed callback find nothing.
      .set({ status: "approved", email, groups: JSON.stringify(groups), state: null, code_verifier: null, nonce: null })
      .where("user_code", "=", userCode)
      .where("status", "=", "pending")
      .execute();
  }

  async deny(userCode: string): Promise<void> {
    await this.db.updateTable("login_requests").set({ status: "denied", state: null }).where("user_code", "=", userCode).execute();
  }

  /** One poll by the CLI. An approved request is redeemed exactly once. */
  async poll(deviceCode: string): Promise<PollResult> {
    const hash = await sha256Base64url(deviceCode);
    const now = this.clock.now();
    const row = await this.db.selectFrom("login_requests").selectAll().where("device_code_hash", "=", hash).executeTakeFirst();
    if (!row || row.expires_at <= now || row.status === "redeemed") return { status: "expired" };
    if (row.status === "denied") return { status: "denied" };
    if (row.status === "approved" && row.email) {
      const claimed = await this.db.updateTable("login_requests").set({ status: "redeemed" }).where("device_code_hash", "=", hash).where("status", "=", "approved").executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) return { status: "expired" };
      return { status: "approved", email: row.email, groups: parseGroups(row.groups) };
    }
    const tooSoon = row.last_poll_at !== null && now - row.last_poll_at < (POLL_INTERVAL_SECONDS * 1000) / 2;
    await this.db.updateTable("login_requests").set({ last_poll_at: now }).where("device_code_hash", "=", hash).execute();
    return tooSoon ? { status: "slow_down" } : { status: "pending" };
  }
}

function parseGroups(text: string | null): string[] {
  if (!text) return [];
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter((g): g is string => typeof g === "string") : [];
}
