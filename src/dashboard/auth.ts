import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import type { Caller } from "../core/caller.ts";
import type { AppDeps } from "../core/deps.ts";
import { CLIENT_CREDENTIAL_HEADERS, type HeaderReader } from "../core/auth.ts";
import { GatewayError } from "../core/errors.ts";
import { defaultDashboardPolicy } from "../config/index.ts";

export const TOKEN_COOKIE = "gatehouse_token";

/** Headers as the authenticator sees them; a browser's cookie stands in for `authorization` when no credential header is sent. */
export function dashboardHeaders(c: Context, cookieToken: string | undefined): HeaderReader {
  const hasHeader = CLIENT_CREDENTIAL_HEADERS.some((name) => Boolean(c.req.header(name)));
  return {
    get(name) {
      if (!hasHeader && cookieToken && name === "authorization") return `Bearer ${cookieToken}`;
      return c.req.header(name);
    },
  };
}

export function adminGroups(deps: AppDeps): readonly string[] {
  return deps.config.current().policy?.dashboard.adminGroups ?? defaultDashboardPolicy.adminGroups;
}

export function isAdmin(deps: AppDeps, caller: Caller): boolean {
  // A service account's key is not a person at a dashboard, even when an admin group owns it.
  if (caller.serviceAccount) return false;
  const admins = adminGroups(deps);
  return caller.groups.some((g) => admins.includes(g));
}

/** The admin behind a dashboard request (header or cookie); throws unauthenticated / forbidden. */
export async function authenticateAdmin(c: Context, deps: AppDeps): Promise<Caller> {
  const caller = await deps.authenticator.authenticate(dashboardHeaders(c, getCookie(c, TOKEN_COOKIE)));
  if (!isAdmin(deps, caller)) throw new GatewayError("forbidden", `The dashboard is for members of ${adminGroups(deps).join(", ")}.`);
  return caller;
}
