import { SignJWT } from "jose";
import type { Kysely } from "kysely";
import type { Clock } from "../core/clock.ts";
import type { Database } from "../store/index.ts";
import { GATEHOUSE_TOKEN_ALG, type SigningKey } from "./signing-key.ts";

/** `iss` and `aud` of every Gatehouse token: fixed, so a changed public URL keeps tokens valid. */
export const GATEHOUSE_ISSUER = "gatehouse";
export const GATEHOUSE_AUDIENCE = "gatehouse-gateway";

export interface IssueRequest {
  email: string;
  callerId: string;
  groups: readonly string[];
  /** "login" or "cli". */
  source: string;
  ttlSeconds: number;
}

export interface IssuedToken {
  token: string;
  jti: string;
  expiresAt: number;
}

/**
 * Signs Gatehouse tokens and records each one (by jti) so it can be listed and revoked.
 * `sub` is the anonymous id, so verifying a token needs no database lookup.
 */
export class TokenIssuer {
  constructor(
    private readonly key: SigningKey,
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {}

  async issue(request: IssueRequest): Promise<IssuedToken> {
    const jti = crypto.randomUUID();
    const issuedAtSeconds = Math.floor(this.clock.now() / 1000);
    const expiresAtSeconds = issuedAtSeconds + request.ttlSeconds;
    const token = await new SignJWT({ email: request.email, groups: [...request.groups] })
      .setProtectedHeader({ alg: GATEHOUSE_TOKEN_ALG, kid: this.key.kid, typ: "JWT" })
      .setIssuer(GATEHOUSE_ISSUER)
      .setAudience(GATEHOUSE_AUDIENCE)
      .setSubject(request.callerId)
      .setJti(jti)
      .setIssuedAt(issuedAtSeconds)
      .setNotBefore(issuedAtSeconds)
      .setExpirationTime(expiresAtSeconds)
      .sign(this.key.privateKey);
    await this.db
      .insertInto("issued_tokens")
      .values({ jti, caller_id: request.callerId, source: request.source, issued_at: issuedAtSeconds * 1000, expires_at: expiresAtSeconds * 1000, revoked_at: null, revoked_reason: null })
      .execute();
    return { token, jti, expiresAt: expiresAtSeconds * 1000 };
  }
}
