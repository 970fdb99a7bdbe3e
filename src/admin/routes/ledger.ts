import { GatewayError } from "../../core/errors.ts";
import { usageSummary, type UsageGroup } from "../../ledger/index.ts";
import { queryRequests } from "../requests-query.ts";
import { defineRoute, type AdminRoute } from "../route.ts";
import { requestsQuery, requestsResponse, usageQuery, usageResponse } from "../schemas.ts";

const TAG = "usage and requests";

/** What the ledger says: `gatehouse usage` as JSON, and the requests one by one. */
export const ledgerRoutes: readonly AdminRoute[] = [
  defineRoute({
    method: "get",
    path: "/usage",
    operationId: "usage",
    summary: "Tokens, cost and cache hit rate grouped by day, provider, model, caller, team, client or session: the rows of `gatehouse usage` (costUsd is the priced part; unpricedRequests says how many had no price)",
    tag: TAG,
    query: usageQuery,
    response: usageResponse,
    handle: async ({ deps, query }) => {
      if (query.since && query.until && query.until < query.since) throw new GatewayError("bad_request", `until ${query.until} is before since ${query.since}; since is the first day, until the last (both included).`);
      const groupBy = query.by.split(",").map((g) => g.trim()) as UsageGroup[];
      return { rows: await usageSummary(deps.analyticsDb ?? deps.db, { groupBy, since: query.since, until: query.until }) };
    },
  }),
  defineRoute({
    method: "get",
    path: "/requests",
    operationId: "listRequests",
    summary: "The ledger's requests, newest first, with filters (time, caller, team, provider, model, outcome, status, minimum cost); paged by request id",
    tag: TAG,
    query: requestsQuery,
    response: requestsResponse,
    handle: ({ deps, query }) => queryRequests(deps.analyticsDb ?? deps.db, query),
  }),
];
