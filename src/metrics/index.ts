import type { AppModule } from "../core/app.ts";
import { GatewayError, errorBody } from "../core/errors.ts";
import { defaultDashboardPolicy } from "../config/index.ts";
import type { MetricsRegistry } from "./registry.ts";

export { MetricsRegistry, metricLines, DURATION_BUCKETS, TTFB_BUCKETS } from "./registry.ts";
export { metricsSubscriber } from "./observer.ts";

/**
 * GET /metrics in Prometheus format. Callers in a dashboard admin group may scrape it
 * (Prometheus sends the token as `authorization: Bearer`); `policy.dashboard.metricsPublic`
 * opens it for a scraper on a private network.
 */
export function createMetricsModule(registry: MetricsRegistry): AppModule {
  return {
    name: "metrics",
    mount(app, deps) {
      app.get("/metrics", async (c) => {
        const settings = deps.config.current().policy?.dashboard ?? defaultDashboardPolicy;
        if (!settings.metricsPublic) {
          const caller = await deps.authenticator.authenticate({ get: (name) => c.req.header(name) });
          // A service account scrapes only with the metrics:read scope, whatever group owns it.
          const mayRead = caller.serviceAccount ? caller.serviceAccount.metricsRead : caller.groups.some((g) => settings.adminGroups.includes(g));
          if (!mayRead) {
            const err = new GatewayError("forbidden", caller.serviceAccount ? `Service account ${caller.serviceAccount.name} lacks the metrics:read scope.` : "Metrics are for dashboard admins.");
            return c.json(errorBody(err, c.get("requestId")), 403);
          }
        }
        return c.body(registry.render(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" });
      });
    },
  };
}
