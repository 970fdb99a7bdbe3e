import type { Kysely } from "kysely";
import type { Database } from "../../store/index.ts";
import type { TokenCipher } from "./cipher.ts";

export interface UpstreamTokens {
  accessToken: string;
  refreshToken: string | undefined;
  /** Milliseconds since the epoch; undefined when the upstream gave no lifetime. */
  expiresAt: number | undefined;
}

/** Per-user upstream tokens, encrypted at rest; one row per (server, anonymous user id). */
export class OAuthTokenStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly cipher: TokenCipher,
  ) {}

  async get(serverId: string, callerId: string): Promise<UpstreamTokens | undefined> {
    const row = await this.db.selectFrom("mcp_oauth_tokens").select(["ciphertext"]).where("server_id", "=", serverId).where("caller_id", "=", callerId).executeTakeFirst();
    if (!row) return undefined;
    const parsed = JSON.parse(await this.cipher.decrypt(row.ciphertext, aad(serverId, callerId))) as { a: string; r?: string; e?: number };
    return { accessToken: parsed.a, refreshToken: parsed.r, expiresAt: parsed.e };
  }

  async put(serverId: string, callerId: string, tokens: UpstreamTokens, now: number): Promise<void> {
    const ciphertext = await this.cipher.encrypt(JSON.stringify({ a: tokens.accessToken, r: tokens.refreshToken, e: tokens.expiresAt }), aad(serverId, callerId));
    const values = { server_id: serverId, caller_id: callerId, ciphertext, expires_at: tokens.expiresAt ?? null, updated_at: now };
    await this.db
      .insertInto("mcp_oauth_tokens")
      .values(values)
      .onConflict((oc) => oc.columns(["server_id", "caller_id"]).doUpdateSet({ ciphertext, expires_at: values.expires_at, updated_at: now }))
      .execute();
  }

  async delete(serverId: string, callerId: string): Promise<void> {
    await this.db.deleteFrom("mcp_oauth_tokens").where("server_id", "=", serverId).where("caller_id", "=", callerId).execute();
  }
}

function aad(serverId: string, callerId: string): string {
  return `${serverId}\u0000${callerId}`;
}
