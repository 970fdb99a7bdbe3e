/** Identity: who is calling. Three modes (jwt behind an identity-aware proxy, oidc login, dev). */
export { createAuthenticator, createIdentity, assertDevModeAllowed, isLoopbackHost, parseAlgorithms } from "./create.ts";
export type { Identity, IdentityDeps } from "./create.ts";
export { JwtAuthenticator } from "./authenticator.ts";
export { AnonymousIds, normalizeEmail } from "./anonymous-ids.ts";
export type { SharedAnonymousIdCache } from "./anonymous-ids.ts";
export { TokenIssuer, GATEHOUSE_ISSUER, GATEHOUSE_AUDIENCE } from "./gatehouse-tokens.ts";
export type { IssuedToken } from "./gatehouse-tokens.ts";
export { RevocationList } from "./revocations.ts";
export { generateSigningJwk, importSigningKey, GATEHOUSE_TOKEN_ALG } from "./signing-key.ts";
export type { SigningKey } from "./signing-key.ts";
export { IdentityAdmin } from "./admin.ts";
export type { TokenRow } from "./admin.ts";
export { createLoginModule } from "./login/module.ts";
export type { LoginModuleOptions } from "./login/module.ts";
export { publicBaseUrl, assertPublicUrlConfigured } from "./base-url.ts";
