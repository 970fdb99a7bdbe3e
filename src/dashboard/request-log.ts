import type { Context, Hono } from "hono";
import type { AppEnv } from "../core/app.ts";
import type { AppDeps } from "../core/deps.ts";
import { GatewayError, errorBody, toGatewayError } from "../core/errors.ts";
import { PROVIDER_IDS } from "../providers/ids.ts";
import { parseLogQuery } from "./request-log-filters.ts";
import { requestDetailPage, requestLogPage } from "./request-log-page.ts";
import { listRequests, requestDetail } from "./request-log-queries.ts";

/** The dashboard's admission check: a Response when the caller may not see it (login redirect, 403 page, JSON error). */
export type DashboardGuard = (c: Context<AppEnv>, deps: AppDeps, page: boolean) => Promise<Response | undefined>;

/**
 * /dashboard/requests (the log) and /dashboard/requests/:id (one request), for the same
 * callers as the rest of the dashboard: members of `policy.dashboard.adminGroups`. They read
 * the ledger on the analytics connection when there is one (the embedded SQLite's reader thread).
 */
export function mountRequestLog(app: Hono<AppEnv>, deps: AppDeps, guard: DashboardGuard): void {
  app.get("/dashboard/requests", async (c) => {
    const denied = await guard(c, deps, true);
    if (denied) return denied;
    let query;
    try {
      query = parseLogQuery((name) => c.req.query(name));
    } catch (err) {
      const e = toGatewayError(err);
      if (e.code === "internal") throw err;
      return c.json(errorBody(e, c.get("requestId")), 400);
    }
    const page = await listRequests(deps.analyticsDb ?? deps.db, query.filters, query.after, query.limit);
    return c.html(requestLogPage(query, page, PROVIDER_IDS));
  });

  app.get("/dashboard/requests/:id", async (c) => {
    const denied = await guard(c, deps, true);
    if (denied) return denied;
    const id = c.req.param("id");
    // Bodies are written a moment after the ledger row; both come from the same store.
    const detail = id.length <= 200 ? await requestDetail(deps.analyticsDb ?? deps.db, id) : undefined;
    if (!detail) return c.json(errorBody(new GatewayError("not_found", "No request with this id in the ledger (it may not be written yet; try again in a second)."), c.get("requestId")), 404);
    return c.html(requestDetailPage(detail));
  });
}
