import type { Caller, ServiceAccountLimits } from "../core/caller.ts";
import { GatewayError } from "../core/errors.ts";
import type { ProviderDescriptor, RequestShape } from "../providers/index.ts";
import type { PolicyConfig } from "../config/policy-schema.ts";
import { globToRegExp } from "./glob.ts";

/**
 * A service account's scopes narrow what its owning group may do; a person (no
 * `serviceAccount` on the caller) is never affected. Called by governance before anything
 * is reserved, so a refused request costs nothing and leaves no hold.
 */
export function assertServiceAccountScope(caller: Caller, provider: ProviderDescriptor, shape: RequestShape, policy: PolicyConfig | undefined): void {
  const grant = caller.serviceAccount;
  if (!grant) return;
  if (!grant.routes.includes("*") && !grant.routes.includes(provider.id)) {
    throw new GatewayError("forbidden", `Service account ${grant.name} may not call ${provider.displayName} (${provider.id}); its routes are ${grant.routes.join(", ")}. An admin can create a key for an account with that route.`);
  }
  const model = shape.model;
  if (model === undefined) {
    // Model lists, uploads: any model glob for this provider grants the route's model-less endpoints.
    if (!grant.models.some((g) => g === "*" || g.startsWith(`${provider.id}/`) || g.startsWith("*/"))) {
      throw new GatewayError("forbidden", `Service account ${grant.name} has no model of ${provider.id} in its scope.`);
    }
  } else if (!policy?.routing.aliases[model] && !serviceAccountAllowsModel(caller, `${provider.id}/${model}`)) {
    // An alias is checked model by model where governance resolves it (serviceAccountAllowsModel).
    throw new GatewayError("forbidden", `Model ${provider.id}/${model} is outside service account ${grant.name}'s scope (${grant.models.join(", ") || "no models"}).`);
  }
  if (!policy && hasOwnLimits(grant.limits)) {
    // Without a policy section nothing reserves budgets: a capped account must not run uncapped.
    throw new GatewayError("not_configured", `Service account ${grant.name} has its own budget or rate limit, but this gateway has no policy: section to enforce it. Add one to gatehouse.yaml (docs/governance.md).`);
  }
}

/** Whether the caller may use "provider/model": always for people; within the globs for a service account. */
export function serviceAccountAllowsModel(caller: Caller, ref: string): boolean {
  const grant = caller.serviceAccount;
  if (!grant) return true;
  return grant.models.some((glob) => globToRegExp(glob).test(ref));
}

export function hasOwnLimits(limits: ServiceAccountLimits): boolean {
  return limits.dailyUsd !== undefined || limits.monthlyUsd !== undefined || limits.requestsPerMinute !== undefined || limits.tokensPerMinute !== undefined;
}

/**
 * A service account's own limit and its group's per-member limit fall on the same counter,
 * `user:<account id>` (the ledger's caller id, so the reconciler rebuilds it after a restart):
 * the tighter of the two applies.
 */
export function tighter(groupLimit: number | undefined, ownLimit: number | undefined): number | undefined {
  if (groupLimit === undefined) return ownLimit;
  if (ownLimit === undefined) return groupLimit;
  return Math.min(groupLimit, ownLimit);
}

export function userLabel(caller: Caller): string {
  return caller.serviceAccount ? `service account ${caller.serviceAccount.name}'s` : "your";
}
