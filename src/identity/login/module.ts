import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { timingSafeEqualText } from "../../core/auth.ts";
import type { AppEnv, AppModule } from "../../core/app.ts";
import { GatewayError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { Settings } from "../../core/settings.ts";
import { publicBaseUrl, publicUrlIsHttps } from "../../core/public-url.ts";
import type { Identity } from "../create.ts";
import { normalizeEmail } from "../anonymous-ids.ts";
import { pkceChallenge, randomToken } from "./codes.ts";
import { LoginRequests, POLL_INTERVAL_SECONDS } from "./device-flow.ts";
import { OidcClient } from "./oidc-client.ts";
import { confirmPage, donePage, enterCodePage, messagePage } from "./pages.ts";
import { describeError } from "../../core/app.ts";

export interface LoginModuleOptions {
  settings: Settings;
  identity: Identity;
  logger: Logger;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}

/**
 * `/auth/*`: the gateway side of `gatehouse login` (device-code style, RFC 8628 shapes on the
 * token endpoint so any OAuth-aware CLI could use it), the browser pages, the OIDC callback,
 * and the public JWKS of Gatehouse tokens. Mounted in dev and oidc modes.
 */
export function createLoginModule(options: LoginModuleOptions): AppModule {
  const { settings, identity, logger } = options;
  return {
    name: "identity-login",
    mount(app, deps) {
      const issuer = identity.issuer;
      const signingKey = identity.signingKey;
      if (!issuer || !signingKey || settings.authMode === "jwt") return;
      const mode = settings.authMode === "oidc" ? "oidc" : "dev";
      const requests = new LoginRequests(deps.db, deps.clock);
      const oidc =
        mode === "oidc"
          ? new OidcClient({ issuer: settings.oidcIssuer as string, clientId: settings.oidcClientId as string, clientSecret: settings.oidcClientSecret, scopes: settings.oidcScopes, ...(options.fetch ? { fetch: options.fetch } : {}) })
          : undefined;
      const html = (c: Context<AppEnv>, body: string, status: 200 | 400 | 403 | 404 | 502 = 200) => {
        c.header("cache-control", "no-store");
        c.header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' *; frame-ancestors 'none'");
        return c.html(body, status);
      };

      app.get("/auth/jwks.json", (c) => c.json({ keys: [signingKey.publicJwk] }));

      app.post("/auth/device", async (c) => {
        const base = publicBaseUrl(settings, c.req.raw);
        const started = await requests.start();
        const verificationUri = `${base}/auth/device/verify`;
        c.header("cache-control", "no-store");
        return c.json({
          device_code: started.deviceCode,
          user_code: started.userCode,
          verification_uri: verificationUri,
          verification_uri_complete: `${verificationUri}?user_code=${encodeURIComponent(started.userCode)}`,
          expires_in: started.expiresInSeconds,
          interval: POLL_INTERVAL_SECONDS,
        });
      });

      app.get("/auth/device/verify", async (c) => {
        const code = c.req.query("user_code");
        if (!code) return html(c, enterCodePage());
        const request = await requests.pendingByUserCode(code);
        if (!request) return html(c, enterCodePage("That code is unknown or has expired. Run the login command again."), 404);
        // Double-submit CSRF token: the form's hidden field must match this SameSite=Strict
        // cookie, which a page of another site can neither read nor send.
        const csrf = randomToken();
        setCookie(c, CSRF_COOKIE, csrf, { httpOnly: true, sameSite: "Strict", path: "/auth/device", secure: publicUrlIsHttps(settings, c.req.raw), maxAge: 600 });
        return html(c, confirmPage(request.user_code, mode, csrf));
      });

      app.post("/auth/device/verify", async (c) => {
        // A form auto-submitted from another site must not start or approve a sign-in.
        const site = c.req.header("sec-fetch-site");
        if (site && site !== "same-origin" && site !== "none") return html(c, messagePage("Refused", "This form must be submitted from the Gatehouse page."), 403);
        const form = await c.req.parseBody();
        const cookieCsrf = getCookie(c, CSRF_COOKIE) ?? "";
        const formCsrf = typeof form["csrf"] === "string" ? form["csrf"] : "";
        if (!cookieCsrf || !timingSafeEqualText(cookieCsrf, formCsrf)) {
          return html(c, messagePage("Refused", "This form expired or was not opened from the Gatehouse page. Open the link your terminal shows again."), 403);
        }
        const code = typeof form["user_code"] === "string" ? form["user_code"] : "";
        const request = await requests.pendingByUserCode(code);
        if (!request) return html(c, enterCodePage("That code is unknown or has expired. Run the login command again."), 404);
        if (form["action"] === "deny") {
          await requests.deny(request.user_code);
          return html(c, messagePage("Sign-in cancelled", "Nothing was signed in. You can close this tab."));
        }
        if (mode === "dev") {
          const email = typeof form["email"] === "string" ? normalizeEmail(form["email"]) : "";
          if (!/^[^\s@]+@[^\s@]+$/.test(email)) return html(c, messagePage("Invalid email", "Type an email address like you@example.com."), 400);
          await requests.approve(request.user_code, email, []);
          return html(c, donePage(email));
        }
        const state = randomToken();
        const nonce = randomToken();
        const codeVerifier = randomToken();
        await requests.attachAuthorization(request.user_code, { state, nonce, codeVerifier });
        const url = await (oidc as OidcClient).authorizationUrl({ redirectUri: `${publicBaseUrl(settings, c.req.raw)}/auth/callback`, state, nonce, codeChallenge: await pkceChallenge(codeVerifier) });
        return c.redirect(url, 303);
      });

      app.get("/auth/callback", async (c) => {
        if (!oidc) return html(c, messagePage("Not available", "This gateway does not sign in through an identity provider."), 404);
        const state = c.req.query("state") ?? "";
        const request = state ? await requests.pendingByState(state) : undefined;
        if (!request || !request.code_verifier || !request.nonce) return html(c, messagePage("Sign-in expired", "This sign-in link is no longer valid. Run the login command again."), 400);
        const idpError = c.req.query("error");
        if (idpError) {
          await requests.deny(request.user_code);
          return html(c, messagePage("Sign-in refused", `The identity provider refused the sign-in (${idpError.slice(0, 64)}).`), 403);
        }
        const code = c.req.query("code");
        if (!code) return html(c, messagePage("Sign-in failed", "The identity provider returned no authorization code."), 400);
        try {
          const login = await oidc.redeem({ code, redirectUri: `${publicBaseUrl(settings, c.req.raw)}/auth/callback`, codeVerifier: request.code_verifier, nonce: request.nonce, emailClaim: settings.jwtEmailClaim, groupsClaim: settings.jwtGroupsClaim });
          await requests.approve(request.user_code, normalizeEmail(login.email), login.groups);
          return html(c, donePage(login.email));
        } catch (err) {
          if (!(err instanceof GatewayError)) throw err;
          logger.warn({ err: describeError(err) }, "oidc sign-in failed");
          await requests.deny(request.user_code);
          return html(c, messagePage("Sign-in failed", err.message), err.status === 403 ? 403 : 502);
        }
      });

      app.post("/auth/device/token", async (c) => {
        c.header("cache-control", "no-store");
        const deviceCode = await readDeviceCode(c);
        if (!deviceCode) return c.json({ error: "invalid_request", error_description: "device_code is required." }, 400);
        const result = await requests.poll(deviceCode);
        switch (result.status) {
          case "pending":
            return c.json({ error: "authorization_pending" }, 400);
          case "slow_down":
            return c.json({ error: "slow_down" }, 400);
          case "denied":
            return c.json({ error: "access_denied", error_description: "The sign-in was cancelled or refused." }, 400);
          case "expired":
            return c.json({ error: "expired_token", error_description: "The login request expired or was already used. Run the login command again." }, 400);
          case "approved": {
            const callerId = await identity.anonymousIds.idFor(result.email);
            const issued = await issuer.issue({ email: result.email, callerId, groups: result.groups, source: "login", ttlSeconds: settings.tokenTtlSeconds });
            logger.info({ callerId, jti: issued.jti, mode }, "gateway token issued by login");
            return c.json({ access_token: issued.token, token_type: "Bearer", expires_in: settings.tokenTtlSeconds });
          }
        }
      });
    },
  };
}

const CSRF_COOKIE = "gatehouse_login_csrf";

async function readDeviceCode(c: Context<AppEnv>): Promise<string | undefined> {
  const type = c.req.header("content-type") ?? "";
  if (type.includes("application/json")) {
    const body: unknown = await c.req.json().catch((err: unknown) => {
      if (err instanceof SyntaxError) return undefined;
      throw err;
    });
    if (body && typeof body === "object" && "device_code" in body && typeof body.device_code === "string") return body.device_code;
    return undefined;
  }
  const form = await c.req.parseBody();
  return typeof form["device_code"] === "string" ? form["device_code"] : undefined;
}
