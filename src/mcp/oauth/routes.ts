import type { Hono } from "hono";
import type { AppEnv } from "../../core/app.ts";
import type { Authenticator } from "../../core/auth.ts";
import { GatewayError } from "../../core/errors.ts";
import type { Caller } from "../../core/caller.ts";
import type { UpstreamOAuth } from "./upstream-oauth.ts";

export interface OAuthRouteOptions {
  oauth: UpstreamOAuth;
  authenticator: Authenticator;
  publicUrl: string | undefined;
  /** Policy check: may this caller use this server at all? */
  allowed(caller: Caller, serverId: string): boolean;
}

/**
 * `/mcp/oauth/{server}/connect` (authenticated: redirects to the upstream's consent page, or
 * returns `{ authorizationUrl }` to a JSON client) and `/mcp/oauth/callback`.
 */
export function mountOAuthRoutes(app: Hono<AppEnv>, options: OAuthRouteOptions): void {
  const callbackUrl = (requestUrl: string): string => `${(options.publicUrl ?? new URL(requestUrl).origin).replace(/\/$/, "")}/mcp/oauth/callback`;

  app.get("/mcp/oauth/callback", async (c) => {
    const error = c.req.query("error");
    if (error) return c.html(page("Not connected", `The server answered: ${escapeHtml(error)}.`), 400);
    const state = c.req.query("state");
    const code = c.req.query("code");
    if (!state || !code) throw new GatewayError("bad_request", "The callback needs state and code.");
    const { serverId } = await options.oauth.complete(state, code);
    return c.html(page("Connected", `Your account is connected to <b>${escapeHtml(serverId)}</b>. You can close this window; its tools now appear in your MCP client.`));
  });

  app.get("/mcp/oauth/:server/connect", async (c) => {
    const caller = await options.authenticator.authenticate({ get: (name) => c.req.header(name) });
    const serverId = c.req.param("server");
    if (!options.allowed(caller, serverId)) throw new GatewayError("not_found", `No MCP server "${serverId}".`);
    const url = await options.oauth.authorizationUrl(serverId, caller.id, callbackUrl(c.req.url));
    if ((c.req.header("accept") ?? "").includes("application/json")) return c.json({ authorizationUrl: url });
    return c.redirect(url, 302);
  });
}

function page(title: string, body: string): string {
  return `<!doctype html><meta charset="utf-8"><title>${title} · Gatehouse</title><main style="font:16px system-ui;max-width:36rem;margin:4rem auto"><h1>${title}</h1><p>${body}</p></main>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
