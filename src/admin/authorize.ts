import type { Context } from "hono";
import type { Caller } from "../core/caller.ts";
import type { AppDeps } from "../core/deps.ts";
import { GatewayError } from "../core/errors.ts";
import { defaultDashboardPolicy } from "../config/index.ts";
import type { AdminActor } from "../identity/index.ts";

/** The groups whose people are admins: the dashboard's (`policy.dashboard.adminGroups`, default `admin`). */
export function adminGroups(deps: AppDeps): readonly string[] {
  return deps.config.current().policy?.dashboard.adminGroups ?? defaultDashboardPolicy.adminGroups;
}

export type AdminDecision = { allowed: true; caller: Caller; actor: AdminActor } | { allowed: false; caller: Caller; actor: AdminActor; error: GatewayError };

/**
 * Who may call /admin/v1: a person in an admin group, or a service-account key with the
 * `admin` scope (`metrics:read` is not enough, and an account owned by an admin group is not
 * an admin through its group). The credential comes from the request's headers only, never
 * a cookie, so a page of another site cannot ride a browser's session. No credential, or a
 * refused one, throws the authenticator's 401.
 */
export async function decideAdmin(c: Context, deps: AppDeps): Promise<AdminDecision> {
  const caller = await deps.authenticator.authenticate({ get: (name) => c.req.header(name) });
  if (caller.serviceAccount) {
    const actor: AdminActor = { kind: "service_account", id: caller.id, name: caller.serviceAccount.name };
    if (caller.serviceAccount.admin) return { allowed: true, caller, actor };
    return { allowed: false, caller, actor, error: new GatewayError("forbidden", `Service account ${caller.serviceAccount.name} lacks the admin scope; create a key of an account with it (gatehouse service-account create … --scope admin).`) };
  }
  const actor: AdminActor = { kind: "person", id: caller.id, name: caller.email ?? caller.id };
  const groups = adminGroups(deps);
  if (caller.groups.some((g) => groups.includes(g))) return { allowed: true, caller, actor };
  return { allowed: false, caller, actor, error: new GatewayError("forbidden", `The admin API is for members of ${groups.join(", ")} (policy.dashboard.adminGroups) and service-account keys with the admin scope.`) };
}
