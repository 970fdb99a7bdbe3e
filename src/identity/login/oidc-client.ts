import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { z } from "zod";
import { GatewayError } from "../../core/errors.ts";

const discoverySchema = z.object({
  issuer: z.string(),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  jwks_uri: z.url(),
  userinfo_endpoint: z.url().optional(),
});
type Discovery = z.infer<typeof discoverySchema>;

const tokenResponseSchema = z.object({ id_token: z.string().min(1), access_token: z.string().optional() });

export interface OidcClientOptions {
  issuer: string;
  clientId: string;
  clientSecret: string | undefined;
  scopes: string;
  fetch?: typeof fetch;
}

export interface VerifiedLogin {
  email: string;
  groups: string[];
}

/**
 * Gatehouse as an OIDC relying party: authorization code flow with PKCE (S256) and a nonce,
 * ID token verified against the provider's JWKS. Discovery is fetched once and kept.
 */
export class OidcClient {
  private discovery: Promise<{ doc: Discovery; jwks: JWTVerifyGetKey }> | undefined;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: OidcClientOptions) {
    this.fetch = options.fetch ?? fetch;
  }

  async authorizationUrl(params: { redirectUri: string; state: string; nonce: string; codeChallenge: string }): Promise<string> {
    const { doc } = await this.discover();
    const url = new URL(doc.authorization_endpoint);
    url.searchParams.set("response_type", "code");
    url.searchParams.set("client_id", this.options.clientId);
    url.searchParams.set("redirect_uri", params.redirectUri);
    url.searchParams.set("scope", this.options.scopes);
    url.searchParams.set("state", params.state);
    url.searchParams.set("nonce", params.nonce);
    url.searchParams.set("code_challenge", params.codeChallenge);
    url.searchParams.set("code_challenge_method", "S256");
    return url.toString();
  }

  /** Exchanges the code, verifies the ID token (issuer, audience, nonce, signature) and reads email and groups. */
  async redeem(params: { code: string; redirectUri: string; codeVerifier: string; nonce: string; emailClaim: string; groupsClaim: string }): Promise<VerifiedLogin> {
    const { doc, jwks } = await this.discover();
    const body = new URLSearchParams({ grant_type: "authorization_code", code: params.code, redirect_uri: params.redirectUri, code_verifier: params.codeVerifier });
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
    if (this.options.clientSecret) {
      headers["authorization"] = `Basic ${btoa(`${encodeURIComponent(this.options.clientId)}:${encodeURIComponent(this.options.clientSecret)}`)}`;
    } else {
      body.set("client_id", this.options.clientId);
    }
    const response = await this.fetch(doc.token_endpoint, { method: "POST", headers, body });
    if (!response.ok) {
      // The IdP's error code helps; its description might quote request data, so only the code is kept.
      const code = await readOAuthErrorCode(response);
      throw new GatewayError("unauthenticated", `The identity provider refused the sign-in (${code ?? `HTTP ${response.status}`}).`);
    }
    const tokens = tokenResponseSchema.safeParse(await response.json());
    if (!tokens.success) throw new GatewayError("upstream_unavailable", "The identity provider's token response had no ID token.");
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(tokens.data.id_token, jwks, { issuer: doc.issuer, audience: this.options.clientId, algorithms: ["RS256", "PS256", "ES256", "EdDSA"] }));
    } catch (err) {
      throw new GatewayError("unauthenticated", "The identity provider's ID token failed verification.", { cause: err });
    }
    if (payload["nonce"] !== params.nonce) throw new GatewayError("unauthenticated", "The ID token's nonce does not match this sign-in.");
    // Many IdPs (and OIDC's default for scope claims) put email and groups only in userinfo.
    if (payload[params.emailClaim] === undefined && tokens.data.access_token && doc.userinfo_endpoint) {
      payload = { ...(await this.userinfo(doc.userinfo_endpoint, tokens.data.access_token, payload.sub)), ...payload };
    }
    const email = payload[params.emailClaim];
    if (typeof email !== "string" || !email.includes("@")) throw new GatewayError("unauthenticated", `The identity provider did not return an email (claim "${params.emailClaim}"); request the email scope.`);
    if (payload["email_verified"] === false) throw new GatewayError("forbidden", "The identity provider says this email is not verified.");
    const rawGroups = payload[params.groupsClaim];
    const groups = Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === "string") : [];
    return { email, groups };
  }

  private async userinfo(endpoint: string, accessToken: string, subject: string | undefined): Promise<JWTPayload> {
    const response = await this.fetch(endpoint, { headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" } });
    if (!response.ok) throw new GatewayError("upstream_unavailable", `The identity provider's userinfo endpoint returned HTTP ${response.status}.`);
    const claims: unknown = await response.json();
    if (!claims || typeof claims !== "object") throw new GatewayError("upstream_unavailable", "The identity provider's userinfo response is not an object.");
    // OIDC Core 5.3.2: userinfo must be about the ID token's subject, or it is not to be used.
    if ((claims as JWTPayload).sub !== subject) throw new GatewayError("unauthenticated", "The identity provider's userinfo is about a different subject.");
    return claims as JWTPayload;
  }

  private discover(): Promise<{ doc: Discovery; jwks: JWTVerifyGetKey }> {
    this.discovery ??= this.loadDiscovery().catch((err: unknown) => {
      this.discovery = undefined; // retry on the next sign-in
      throw err;
    });
    return this.discovery;
  }

  private async loadDiscovery(): Promise<{ doc: Discovery; jwks: JWTVerifyGetKey }> {
    const url = `${this.options.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
    let response: Response;
    try {
      response = await this.fetch(url, { headers: { accept: "application/json" } });
    } catch (err) {
      throw new GatewayError("upstream_unavailable", `The identity provider (${this.options.issuer}) is unreachable.`, { cause: err });
    }
    if (!response.ok) throw new GatewayError("upstream_unavailable", `The identity provider's discovery document returned HTTP ${response.status}.`);
    const parsed = discoverySchema.safeParse(await response.json());
    if (!parsed.success) throw new GatewayError("upstream_unavailable", "The identity provider's discovery document is incomplete.");
    if (parsed.data.issuer.replace(/\/$/, "") !== this.options.issuer.replace(/\/$/, "")) {
      throw new GatewayError("upstream_unavailable", "The identity provider's discovery document names a different issuer than GATEHOUSE_OIDC_ISSUER.");
    }
    return { doc: parsed.data, jwks: createRemoteJWKSet(new URL(parsed.data.jwks_uri)) };
  }
}

async function readOAuthErrorCode(response: Response): Promise<string | undefined> {
  const text = await response.text();
  try {
    const json: unknown = JSON.parse(text);
    if (json && typeof json === "object" && "error" in json && typeof json.error === "string") return json.error.slice(0, 64);
    return undefined;
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}
