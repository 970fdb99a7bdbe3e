import type { Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../../core/app.ts";
import { extractClientToken, type Authenticator, type HeaderReader } from "../../core/auth.ts";
import { GatewayError } from "../../core/errors.ts";
import { publicBaseUrl, publicUrlIsHttps, type PublicUrlSettings } from "../../core/public-url.ts";
import type { Caller } from "../../core/caller.ts";
import { toBase64Url } from "./cipher.ts";
import { PENDING_TTL_MS, type UpstreamOAuth } from "./upstream-oauth.ts";

export interface OAuthRouteOptions {
  oauth: UpstreamOAuth;
  authenticator: Authenticator;
  /** GATEHOUSE_PUBLIC_URL and the auth mode: the callback URL and the cookie's Secure flag come from core/public-url.ts. */
  site: PublicUrlSettings;
  /** Policy check: may this caller use this server at all? */
  allowed(caller: Caller, serverId: string): boolean;
}

const COOKIE_PATH = "/mcp/oauth";

/**
 * `/mcp/oauth/{server}/connect` (authenticated: redirects to the upstream's consent page, or
 * returns `{ authorizationUrl }` to a JSON client) and `/mcp/oauth/callback`.
 *
 * The connect response sets a cookie holding the connection's browser key (HttpOnly,
 * SameSite=Lax so it comes back on the authorization server's redirect, 5 minutes, one per
 * connection). The callback completes only with that cookie, and when it carries gateway
 * credentials they must be the same user's: a link someone else started is refused.
 */
export function mountOAuthRoutes(app: Hono<AppEnv>, options: OAuthRouteOptions): void {
  const callbackUrl = (request: Request): string => `${publicBaseUrl(options.site, request)}/mcp/oauth/callback`;

  app.get("/mcp/oauth/callback", async (c) => {
    const state = c.req.query("state");
    const cookieName = state ? await bindingCookieName(state) : undefined;
    const browserKey = cookieName ? getCookie(c, cookieName) : undefined;
    if (cookieName) deleteCookie(c, cookieName, { path: COOKIE_PATH });
    const error = c.req.query("error");
    if (error) {
      if (state) options.oauth.abandon(state);
      return c.html(page("Not connected", `The server answered: ${escapeHtml(error)}.`), 400);
    }
    const code = c.req.query("code");
    if (!state || !code) return c.html(page("Not connected", "The callback needs state and code."), 400);
    try {
      const callerId = await presentedCaller(options.authenticator, { get: (name) => c.req.header(name) });
      const { serverId } = await options.oauth.complete(state, code, { browserKey, callerId });
      return c.html(page("Connected", `Your account is connected to <b>${escapeHtml(serverId)}</b>. You can close this window; its tools now appear in your MCP client.`));
    } catch (err) {
      // Whatever went wrong, this state is spent.
      options.oauth.abandon(state);
      if (err instanceof GatewayError && err.status < 500) return c.html(page("Not connected", escapeHtml(err.message)), err.status as 400 | 401 | 403 | 404);
      throw err;
    }
  });

  app.get("/mcp/oauth/:server/connect", async (c) => {
    const caller = await options.authenticator.authenticate({ get: (name) => c.req.header(name) });
    const serverId = c.req.param("server");
    if (!options.allowed(caller, serverId)) throw new GatewayError("not_found", `No MCP server "${serverId}".`);
    const started = await options.oauth.authorizationUrl(serverId, caller.id, callbackUrl(c.req.raw));
    await setBindingCookie(c, started.state, started.browserKey, publicUrlIsHttps(options.site, c.req.raw));
    if ((c.req.header("accept") ?? "").includes("application/json")) return c.json({ authorizationUrl: started.url });
    return c.redirect(started.url, 302);
  });
}

/** The caller a callback's credentials name; undefined when it sent none. Invalid credentials are refused, not ignored. */
async function presentedCaller(authenticator: Authenticator, headers: HeaderReader): Promise<string | undefined> {
  if (!extractClientToken(headers)) return undefined;
  return (await authenticator.authenticate(headers)).id;
}

async function setBindingCookie(c: Context<AppEnv>, state: string, browserKey: string, secure: boolean): Promise<void> {
  setCookie(c, await bindingCookieName(state), browserKey, {
    httpOnly: true,
    // Lax, not Strict: the cookie must come back on the top-level redirect from the authorization server.
    sameSite: "Lax",
    secure,
    path: COOKIE_PATH,
    maxAge: PENDING_TTL_MS / 1000,
  });
}

/** One cookie per connection, so two connections started side by side do not overwrite each other. */
async function bindingCookieName(state: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(state)));
  return `gatehouse_mcp_oauth_${toBase64Url(digest)
    .slice(0, 16)
    .replace(/[^A-Za-z0-9]/g, "x")}`;
}

function page(title: string, body: string): string {
  return `<!doctype html><meta charset="utf-8"><title>${title} · Gatehouse</title><main style="font:16px system-ui;max-width:36rem;margin:4rem auto"><h1>${title}</h1><p>${body}</p></main>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
