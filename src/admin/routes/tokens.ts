import { defineRoute, type AdminRoute } from "../route.ts";
import { revocationListQuery, revocationListResponse, revocationResponse, revokeBody, tokenListQuery, tokenListResponse } from "../schemas.ts";
import { revocationBoundMs } from "../revocation-bound.ts";

const TAG = "people's tokens";

/** People's tokens and revocations: the same actions as `gatehouse token list|revoke`, plus revocation by group. */
export const tokenRoutes: readonly AdminRoute[] = [
  defineRoute({
    method: "get",
    path: "/tokens",
    operationId: "listTokens",
    summary: "Gatehouse-issued tokens (newest first): id, anonymous caller id, source, issue and expiry, revocation",
    tag: TAG,
    query: tokenListQuery,
    response: tokenListResponse,
    handle: async ({ service, query }) => ({ tokens: await service.listTokens({ ...(query.email ? { email: query.email } : {}), includeExpired: query.all === "true" }) }),
  }),
  defineRoute({
    method: "get",
    path: "/revocations",
    operationId: "listRevocations",
    summary: "Revocations by token id, email, subject and group, newest first",
    tag: TAG,
    query: revocationListQuery,
    response: revocationListResponse,
    handle: async ({ service, query }) => ({ revocations: await service.listRevocations(query.limit) }),
  }),
  defineRoute({
    method: "post",
    path: "/revocations",
    operationId: "revoke",
    summary: "Revoke by token id (jti), email, subject (sub) or group, in every auth mode",
    description:
      "Every token of the target issued up to now is refused by every instance within effectiveWithinMs (2 x GATEHOUSE_REVOCATION_POLL_MS); a token issued later (a new sign-in) works. jti also revokes a Gatehouse token by id; email also marks the person's Gatehouse tokens revoked.",
    tag: TAG,
    body: revokeBody,
    response: revocationResponse,
    status: 201,
    handle: async ({ service, ctx, body, deps }) => ({ ...(await service.revoke(ctx, body.kind, body.value, body.reason ?? "revoked by admin")), effectiveWithinMs: revocationBoundMs(deps.settings) }),
  }),
];
