import type { Context } from "hono";
import { setCookie, deleteCookie } from "hono/cookie";
import type { AppEnv, AppModule } from "../core/app.ts";
import type { AppDeps } from "../core/deps.ts";
import { GatewayError, errorBody, toGatewayError } from "../core/errors.ts";
import { publicUrlIsHttps } from "../core/public-url.ts";
import { usageSummary, type UsageGroup } from "../ledger/index.ts";
import { adminAuditFilter, adminAuditPage } from "./admin-audit.ts";
import { authenticateAdmin, isAdmin, TOKEN_COOKIE } from "./auth.ts";
import { DASHBOARD_SCRIPT } from "./client-script.ts";
import { usageCsv } from "./csv.ts";
import { forbiddenPage, loginPage } from "./login-page.ts";
import { dashboardPage } from "./page.ts";
import { parseRange } from "./range.ts";
import { buildReport, type EffectiveMonthlyBudget } from "./report.ts";
import { mountRequestLog } from "./request-log.ts";

export { buildReport, type DashboardReport, type EffectiveMonthlyBudget } from "./report.ts";
export { providerClass, percentiles } from "./queries.ts";
export { parseRange, isCalendarDay } from "./range.ts";
export { csvCell, toCsv, usageCsv, usageValues, USAGE_CSV_COLUMNS } from "./csv.ts";
export { groupKeyLabel, NO_TEAM } from "./names.ts";
export { fmtUsd } from "./html.ts";

export interface DashboardAssets {
  /** The chart.js UMD bundle (node_modules/chart.js/dist/chart.umd.js), read by the runtime adapter. */
  chartJs(): Promise<string>;
}

const SESSION_SECONDS = 8 * 3600;
const CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const CSV_GROUPS: readonly UsageGroup[] = ["day", "provider", "model", "team", "caller", "client", "session"];

/** The usage dashboard under /dashboard, for callers in `policy.dashboard.adminGroups`. */
export function createDashboardModule(assets: DashboardAssets, effectiveBudget?: EffectiveMonthlyBudget): AppModule {
  return {
    name: "dashboard",
    mount(app, deps) {
      app.use("/dashboard/*", async (c, next) => {
        await next();
        c.header("content-security-policy", CSP);
        c.header("x-content-type-options", "nosniff");
        c.header("referrer-policy", "no-referrer");
        if (!c.res.headers.has("cache-control")) c.header("cache-control", "no-store");
      });

      app.get("/dashboard/login", (c) => c.html(loginPage()));

      app.post("/dashboard/login", async (c) => {
        const form = await c.req.parseBody();
        const token = typeof form["token"] === "string" ? form["token"].trim() : "";
        if (!token) return c.html(loginPage("Paste a token."), 400);
        try {
          const caller = await deps.authenticator.authenticate({ get: (name) => (name === "authorization" ? `Bearer ${token}` : undefined) });
          if (!isAdmin(deps, caller)) return c.html(loginPage("This token is valid, but not for a dashboard admin."), 403);
        } catch (err) {
          const e = toGatewayError(err);
          return c.html(loginPage(e.code === "internal" ? "Sign-in failed." : e.message), e.code === "internal" ? 500 : 401);
        }
        setCookie(c, TOKEN_COOKIE, token, { httpOnly: true, sameSite: "Strict", path: "/dashboard", secure: publicUrlIsHttps(deps.settings, c.req.raw), maxAge: SESSION_SECONDS });
        return c.redirect("/dashboard", 303);
      });

      app.post("/dashboard/logout", (c) => {
        deleteCookie(c, TOKEN_COOKIE, { path: "/dashboard" });
        return c.redirect("/dashboard/login", 303);
      });

      app.get("/dashboard/assets/chart.umd.js", async (c) => c.body(await assets.chartJs(), 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=86400" }));
      app.get("/dashboard/assets/dashboard.js", (c) => c.body(DASHBOARD_SCRIPT, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" }));

      app.get("/dashboard", async (c) => {
        const denied = await guard(c, deps, true);
        if (denied) return denied;
        const range = parseRangeOr400(c, deps);
        if (range instanceof Response) return range;
        const report = await buildReport(deps.analyticsDb ?? deps.db, deps.config.current(), range, deps.clock.now(), effectiveBudget);
        return c.html(dashboardPage(report));
      });

      // The admin audit log (src/dashboard/admin-audit.ts).
      app.get("/dashboard/audit", async (c) => {
        const denied = await guard(c, deps, true);
        if (denied) return denied;
        return c.html(await adminAuditPage(deps.analyticsDb ?? deps.db, deps.clock, adminAuditFilter(c.req.query())));
      });

      mountRequestLog(app, deps, guard);

      app.get("/dashboard/export.csv", async (c) => {
        const denied = await guard(c, deps, false);
        if (denied) return denied;
        const range = parseRangeOr400(c, deps);
        if (range instanceof Response) return range;
        const by = (c.req.query("by") ?? "day") as UsageGroup;
        if (!CSV_GROUPS.includes(by)) return c.json(errorBody(new GatewayError("bad_request", `"by" must be one of ${CSV_GROUPS.join(", ")}.`), c.get("requestId")), 400);
        const rows = await usageSummary(deps.analyticsDb ?? deps.db, { groupBy: [by], since: range.from, until: range.to });
        return c.body(usageCsv(rows, [by]), 200, {
          "content-type": "text/csv; charset=utf-8",
          "content-disposition": `attachment; filename="gatehouse-usage-${by}-${range.from}-${range.to}.csv"`,
        });
      });
    },
  };
}

/** Browsers without a session go to the login form; API clients get the JSON error. */
async function guard(c: Context<AppEnv>, deps: AppDeps, page: boolean): Promise<Response | undefined> {
  try {
    await authenticateAdmin(c, deps);
    return undefined;
  } catch (err) {
    const e = toGatewayError(err);
    if (e.code === "internal") throw err;
    if (page && e.code === "unauthenticated") return c.redirect("/dashboard/login", 303);
    if (page && e.code === "forbidden") return c.html(forbiddenPage(e.message), 403);
    return c.json(errorBody(e, c.get("requestId")), e.status as 401);
  }
}

function parseRangeOr400(c: Context<AppEnv>, deps: AppDeps) {
  try {
    return parseRange(c.req.query("from"), c.req.query("to"), deps.clock.now());
  } catch (err) {
    const e = toGatewayError(err);
    if (e.code === "internal") throw err;
    return c.json(errorBody(e, c.get("requestId")), 400);
  }
}
