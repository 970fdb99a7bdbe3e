import { createRemoteJWKSet } from "jose";
import type { Kysely } from "kysely";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import { settingsEnvNames, type Settings } from "../core/settings.ts";
import type { Database } from "../store/index.ts";
import { assertPublicUrlConfigured } from "../core/public-url.ts";
import { AnonymousIds, type SharedAnonymousIdCache } from "./anonymous-ids.ts";
import { JwtAuthenticator, type TokenRules } from "./authenticator.ts";
import { DevTokens } from "./dev-token.ts";
import { GATEHOUSE_AUDIENCE, GATEHOUSE_ISSUER, TokenIssuer } from "./gatehouse-tokens.ts";
import { RevocationList } from "./revocations.ts";
import { GATEHOUSE_TOKEN_ALG, type SigningKey } from "./signing-key.ts";
import { VerifiedTokenCache } from "./token-cache.ts";
import { ServiceAccounts } from "./service-accounts/store.ts";
import { ServiceAccountVerifier } from "./service-accounts/verifier.ts";

export interface IdentityDeps {
  db: Kysely<Database>;
  clock: Clock;
  logger: Logger;
  /** Required in dev and oidc modes (Gatehouse signs the tokens); loaded by the adapter. */
  signingKey?: SigningKey;
  /** Dev mode only: static tokens (e.g. the generated dev token) and the email each stands for. */
  staticTokens?: ReadonlyMap<string, string>;
  /** A cache of anonymous ids shared across isolates (Workers: KV); Node needs none. */
  anonymousIdCache?: SharedAnonymousIdCache;
}

/** Everything identity offers the rest of the app, built once per process. */
export interface Identity {
  authenticator: JwtAuthenticator;
  anonymousIds: AnonymousIds;
  revocations: RevocationList;
  /** Present when Gatehouse signs tokens itself (dev and oidc modes). */
  issuer: TokenIssuer | undefined;
  signingKey: SigningKey | undefined;
  /** Service accounts and their keys (accepted in every mode). */
  serviceAccounts: ServiceAccounts;
  /** This instance's cache of verified keys (the admin API drops an account's entries when it revokes or disables). */
  serviceAccountVerifier: ServiceAccountVerifier;
}

const FORBIDDEN_ALGORITHMS = /^(none|HS\d+)$/i;
const JWKS_MAX_AGE_MS = 10 * 60_000;

export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Refuses dev auth on a reachable address unless it was explicitly enabled. */
export function assertDevModeAllowed(settings: Settings): void {
  if (settings.authMode !== "dev" || isLoopbackHost(settings.host) || settings.allowDevAuth) return;
  throw new Error(`Dev auth mode is refused on a non-loopback address (${settings.host}). Bind to 127.0.0.1, choose GATEHOUSE_AUTH_MODE=jwt or oidc, or set GATEHOUSE_ALLOW_DEV_AUTH=true if you really mean it.`);
}

/** The allow-list of signing algorithms for jwt mode; symmetric and unsigned ones are refused outright. */
export function parseAlgorithms(list: string): string[] {
  const algorithms = list
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  if (algorithms.length === 0) throw new Error("GATEHOUSE_JWT_ALGORITHMS is empty.");
  const bad = algorithms.filter((a) => FORBIDDEN_ALGORITHMS.test(a));
  if (bad.length) throw new Error(`GATEHOUSE_JWT_ALGORITHMS must not contain ${bad.join(", ")}: only asymmetric algorithms verify against a JWKS.`);
  return algorithms;
}

/** Builds identity for the configured mode; throws a message naming the missing setting. */
export function createIdentity(settings: Settings, deps: IdentityDeps): Identity {
  assertDevModeAllowed(settings);
  assertPublicUrlConfigured(settings);
  const anonymousIds = new AnonymousIds(deps.db, deps.clock, undefined, deps.anonymousIdCache, deps.logger);
  const revocations = new RevocationList(deps.db, deps.clock, deps.logger, settings.revocationPollMs);
  const cache = new VerifiedTokenCache();
  const serviceAccounts = new ServiceAccounts(deps.db, deps.clock);
  const serviceAccountVerifier = new ServiceAccountVerifier(serviceAccounts, deps.clock, settings.revocationPollMs);

  if (settings.authMode === "jwt") {
    const missing = (["jwtJwksUrl", "jwtIssuer", "jwtAudience"] as const).filter((k) => !settings[k]);
    if (missing.length) throw new Error(`GATEHOUSE_AUTH_MODE=jwt needs ${missing.map((k) => settingsEnvNames[k]).join(", ")}.`);
    const rules: TokenRules = {
      key: createRemoteJWKSet(new URL(settings.jwtJwksUrl as string), { cooldownDuration: settings.jwksCooldownMs, cacheMaxAge: JWKS_MAX_AGE_MS }),
      issuer: settings.jwtIssuer as string,
      audience: settings.jwtAudience as string,
      algorithms: parseAlgorithms(settings.jwtAlgorithms),
      emailClaim: settings.jwtEmailClaim,
      groupsClaim: settings.jwtGroupsClaim,
      gatehouseIssued: false,
    };
    const authenticator = new JwtAuthenticator({ rules, clock: deps.clock, anonymousIds, cache, revocations, serviceAccounts: serviceAccountVerifier, ...(settings.jwtHeader ? { extraHeader: settings.jwtHeader } : {}) });
    return { authenticator, anonymousIds, revocations, issuer: undefined, signingKey: undefined, serviceAccounts, serviceAccountVerifier };
  }

  if (settings.authMode === "oidc") {
    const missing = (["oidcIssuer", "oidcClientId"] as const).filter((k) => !settings[k]);
    if (missing.length) throw new Error(`GATEHOUSE_AUTH_MODE=oidc needs ${missing.map((k) => settingsEnvNames[k]).join(", ")}.`);
  }
  const signingKey = deps.signingKey;
  if (!signingKey) throw new Error(`GATEHOUSE_AUTH_MODE=${settings.authMode} needs a signing key (GATEHOUSE_SIGNING_KEY_FILE).`);
  const rules: TokenRules = {
    key: signingKey.publicKey,
    issuer: GATEHOUSE_ISSUER,
    audience: GATEHOUSE_AUDIENCE,
    algorithms: [GATEHOUSE_TOKEN_ALG],
    emailClaim: "email",
    groupsClaim: "groups",
    gatehouseIssued: true,
  };
  const devTokens = settings.authMode === "dev" && deps.staticTokens ? new DevTokens(deps.staticTokens) : undefined;
  const authenticator = new JwtAuthenticator({ rules, clock: deps.clock, anonymousIds, cache, revocations, serviceAccounts: serviceAccountVerifier, ...(devTokens ? { devTokens } : {}) });
  return { authenticator, anonymousIds, revocations, issuer: new TokenIssuer(signingKey, deps.db, deps.clock), signingKey, serviceAccounts, serviceAccountVerifier };
}

/** The factory the server composition calls: the mode's Authenticator. */
export function createAuthenticator(settings: Settings, deps: IdentityDeps): JwtAuthenticator {
  return createIdentity(settings, deps).authenticator;
}
