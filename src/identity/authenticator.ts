import { jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { CLIENT_CREDENTIAL_HEADERS, extractClientToken, type Authenticator, type HeaderReader } from "../core/auth.ts";
import type { Caller } from "../core/caller.ts";
import type { Clock } from "../core/clock.ts";
import { GatewayError } from "../core/errors.ts";
import type { AnonymousIds } from "./anonymous-ids.ts";
import { devCaller, invalidDevTokenError, missingTokenError, type DevTokens } from "./dev-token.ts";
import { emailFromClaims, groupsFromClaims } from "./claims.ts";
import type { RevocationList, TokenFacts } from "./revocations.ts";
import type { VerifiedTokenCache } from "./token-cache.ts";
import { isServiceAccountKey } from "./service-accounts/keys.ts";
import type { ServiceAccountVerifier } from "./service-accounts/verifier.ts";
import { verificationError } from "./verify-errors.ts";

export interface TokenRules {
  /** A public key, or a JWKS resolver (remote JWKS: cached, re-fetched on an unknown kid). */
  key: CryptoKey | JWTVerifyGetKey;
  issuer: string;
  audience: string;
  algorithms: readonly string[];
  emailClaim: string;
  groupsClaim: string;
  /** Gatehouse's own tokens carry the anonymous id as `sub` and are revocable by jti. */
  gatehouseIssued: boolean;
}

export interface JwtAuthenticatorOptions {
  rules: TokenRules;
  clock: Clock;
  anonymousIds: AnonymousIds;
  cache: VerifiedTokenCache;
  revocations: RevocationList | undefined;
  /** Header an identity-aware proxy puts its JWT in, checked before the standard ones. */
  extraHeader?: string;
  /** Dev mode: the dev token(s), accepted as-is, each mapped to an email (see dev-token.ts). */
  devTokens?: DevTokens;
  /** Service-account keys (ghsa_…), verified against the store in every mode. */
  serviceAccounts?: ServiceAccountVerifier;
}

const CLOCK_TOLERANCE_SECONDS = 5;
/** Three base64url segments: the shape of a signed token (JWS compact serialisation). */
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Verifies a signed JWT per request. A verified token is cached until it expires, so the hot
 * path is one map lookup and one set lookup (revocations), with no database await.
 */
export class JwtAuthenticator implements Authenticator {
  constructor(private readonly options: JwtAuthenticatorOptions) {}

  async authenticate(headers: HeaderReader): Promise<Caller> {
    const { clock, cache, revocations } = this.options;
    // A service-account key wins wherever it is sent: behind an IAP the proxy's own header may
    // carry a JWT for the machine, but the gateway verifies the key itself.
    const serviceKey = this.serviceAccountKey(headers);
    if (serviceKey !== undefined) {
      if (!this.options.serviceAccounts) throw new GatewayError("unauthenticated", "Service account keys are not accepted by this gateway.");
      return this.options.serviceAccounts.authenticate(serviceKey);
    }
    const token = extractClientToken(headers, this.options.extraHeader);
    if (!token) throw missingTokenError();
    if (revocations) await revocations.ensureFresh();
    const now = clock.now();
    const cached = cache.get(token, now);
    if (cached) {
      if (revocations?.revokes(cached.facts)) throw revokedError();
      return cached.caller;
    }
    const { caller, expiresAt, facts } = await this.verify(token, now);
    if (revocations?.revokes(facts)) throw revokedError();
    cache.set(token, caller, expiresAt, facts);
    return caller;
  }

  private async verify(token: string, now: number): Promise<{ caller: Caller; expiresAt: number; facts: TokenFacts }> {
    const devTokens = this.options.devTokens;
    if (devTokens) {
      // Dev tokens exist only in dev mode (loopback): the laptop's owner (dev-token.ts).
      const devEmail = await devTokens.emailFor(token);
      if (devEmail !== undefined) return { caller: await devCaller(devEmail, this.options.anonymousIds), expiresAt: Number.POSITIVE_INFINITY, facts: { email: devEmail } };
      // Not shaped like a signed token: refused as a wrong dev token, in the words Workers uses.
      if (!JWS_COMPACT.test(token)) throw invalidDevTokenError();
    }

    const { rules } = this.options;
    let payload: JWTPayload;
    try {
      const verifyOptions = {
        issuer: rules.issuer,
        audience: rules.audience,
        algorithms: [...rules.algorithms],
        currentDate: new Date(now),
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ["exp"],
      };
      const result = typeof rules.key === "function" ? await jwtVerify(token, rules.key, verifyOptions) : await jwtVerify(token, rules.key, verifyOptions);
      payload = result.payload;
    } catch (err) {
      throw verificationError(err);
    }
    const expiresAt = (payload.exp as number) * 1000;
    const facts: TokenFacts = {
      jti: typeof payload.jti === "string" ? payload.jti : undefined,
      sub: typeof payload.sub === "string" ? payload.sub : undefined,
      issuedAt: typeof payload.iat === "number" ? payload.iat * 1000 : undefined,
    };
    const email = emailFromClaims(payload, rules.emailClaim);
    const groups = groupsFromClaims(payload, rules.groupsClaim);
    if (rules.gatehouseIssued) {
      if (typeof payload.sub !== "string" || !UUID.test(payload.sub) || typeof payload.jti !== "string") {
        throw new GatewayError("unauthenticated", "Gateway token is missing its subject or id.");
      }
      return { caller: { id: payload.sub, email, groups, team: groups[0], tokenId: payload.jti }, expiresAt, facts: { ...facts, email, groups } };
    }
    return { caller: await this.callerFor(email, groups, facts.jti), expiresAt, facts: { ...facts, email, groups } };
  }

  private async callerFor(email: string, groups: string[], tokenId: string | undefined): Promise<Caller> {
    const id = await this.options.anonymousIds.idFor(email);
    return { id, email, groups, team: groups[0], tokenId };
  }

  private serviceAccountKey(headers: HeaderReader): string | undefined {
    const names = this.options.extraHeader ? [this.options.extraHeader, ...CLIENT_CREDENTIAL_HEADERS] : CLIENT_CREDENTIAL_HEADERS;
    for (const name of names) {
      const value = extractClientToken({ get: (n) => (n === name ? headers.get(name) : undefined) });
      if (value !== undefined && isServiceAccountKey(value)) return value;
    }
    return undefined;
  }
}

function revokedError(): GatewayError {
  return new GatewayError("unauthenticated", "Gateway token has been revoked. Sign in again.");
}
