import { importPKCS8, SignJWT } from "jose";
import { GatewayError } from "../core/errors.ts";

/** The fields of a Google service-account key file (`gcloud iam service-accounts keys create`) the gateway uses. */
export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  private_key_id?: string | undefined;
  token_uri: string;
}

export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";
/** A token is replaced this long before Google says it expires. */
export const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;
/** The assertion's lifetime: Google accepts at most one hour. */
const ASSERTION_SECONDS = 3600;
const TOKEN_TIMEOUT_MS = 10_000;

/**
 * Reads a service-account key's JSON text, refusing what is not one. The error never quotes the
 * text (it holds a private key).
 */
export function parseServiceAccountKey(text: string, where: string): ServiceAccountKey {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) throw new GatewayError("not_configured", `${where} is not JSON: it must hold a service-account key file's contents (type "service_account").`);
    throw err;
  }
  const key = value !== null && typeof value === "object" ? (value as Record<string, unknown>) : {};
  const { client_email: email, private_key: privateKey, token_uri: tokenUri, private_key_id: keyId } = key;
  if (key["type"] !== "service_account" || typeof email !== "string" || typeof privateKey !== "string" || typeof tokenUri !== "string") {
    throw new GatewayError("not_configured", `${where} is not a service-account key: it needs type "service_account", client_email, private_key and token_uri.`);
  }
  if (!isAllowedTokenUri(tokenUri)) throw new GatewayError("not_configured", `${where} has a token_uri that is neither https nor a loopback address.`);
  return { client_email: email, private_key: privateKey, token_uri: tokenUri, private_key_id: typeof keyId === "string" ? keyId : undefined };
}

function isAllowedTokenUri(uri: string): boolean {
  try {
    const url = new URL(uri);
    return url.protocol === "https:" || (url.protocol === "http:" && ["127.0.0.1", "[::1]", "localhost"].includes(url.hostname));
  } catch (err) {
    if (err instanceof TypeError) return false;
    throw err;
  }
}

/**
 * Google OAuth access tokens for a service account (RFC 7523 JWT bearer grant, as
 * https://developers.google.com/identity/protocols/oauth2/service-account#authorizingrequests
 * describes): an RS256 assertion signed with the key, exchanged at the key's `token_uri`,
 * cached until TOKEN_REFRESH_MARGIN_MS before it expires; one exchange at a time.
 */
export function createServiceAccountTokens(options: { key: () => Promise<ServiceAccountKey>; scope?: string; fetch?: typeof fetch; now?: () => number }) {
  const fetchFn = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const scope = options.scope ?? CLOUD_PLATFORM_SCOPE;
  let cached: { token: string; refreshAt: number } | undefined;
  let pending: Promise<string> | undefined;

  async function exchange(): Promise<string> {
    const key = await options.key();
    const signingKey = await importPKCS8(key.private_key, "RS256").catch((err: unknown) => {
      throw new GatewayError("not_configured", "The Vertex AI service-account key's private_key is not a PKCS#8 RSA key.", { cause: err });
    });
    const issuedAt = Math.floor(now() / 1000);
    const assertion = await new SignJWT({ scope })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", ...(key.private_key_id ? { kid: key.private_key_id } : {}) })
      .setIssuer(key.client_email)
      .setAudience(key.token_uri)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + ASSERTION_SECONDS)
      .sign(signingKey);
    let response: Response;
    try {
      response = await fetchFn(key.token_uri, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }).toString(),
        signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
      });
    } catch (err) {
      throw new GatewayError("upstream_unavailable", "Google's token endpoint could not be reached to authenticate to Vertex AI.", { cause: err });
    }
    const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    const token = body?.["access_token"];
    const expiresIn = body?.["expires_in"];
    if (!response.ok || typeof token !== "string" || typeof expiresIn !== "number") {
      // Google's `error` code (invalid_grant, unauthorized_client…) says what to fix; nothing else of the answer is repeated.
      const code = typeof body?.["error"] === "string" ? ` (${body["error"]})` : "";
      throw new GatewayError(
        "upstream_unavailable",
        `Google's token endpoint refused the Vertex AI service account's key: HTTP ${response.status}${code}. Check the key (GOOGLE_SERVICE_ACCOUNT_KEY or GOOGLE_APPLICATION_CREDENTIALS) and that it is not disabled.`,
      );
    }
    cached = { token, refreshAt: now() + expiresIn * 1000 - TOKEN_REFRESH_MARGIN_MS };
    return token;
  }

  return {
    async token(): Promise<string> {
      if (cached && now() < cached.refreshAt) return cached.token;
      pending ??= exchange().finally(() => {
        pending = undefined;
      });
      return pending;
    },
  };
}
