import { defineRoute, type AdminRoute } from "../route.ts";
import { auditQuery, auditResponse } from "../schemas.ts";

/** The admin audit log: every admin action made through this API or the CLI. */
export const auditRoutes: readonly AdminRoute[] = [
  defineRoute({
    method: "get",
    path: "/audit",
    operationId: "listAudit",
    summary: "Admin actions (API and CLI), newest first: who, what, target, when, from where, outcome",
    tag: "audit",
    query: auditQuery,
    response: auditResponse,
    handle: async ({ service, query }) => ({
      entries: await service.audit.list({ since: query.since, until: query.until, actorId: query.actor, action: query.action, outcome: query.outcome, limit: query.limit }),
    }),
  }),
];
