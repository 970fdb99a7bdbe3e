import type { AppModule } from "../core/app.ts";
import { providers } from "../providers/index.ts";
import { CallerConcurrencyLimiter } from "./concurrency.ts";
import { createProviderHandler, type ProxyServices } from "./handler.ts";
import { createObjectOwnership } from "./object-ownership.ts";
import { createUpstreamAuth } from "./upstream-auth.ts";

/** Mounts one route per provider of the registry: `<prefix>/*` to its upstream. */
export function createProxyModule(services: ProxyServices): AppModule {
  return {
    name: "proxy",
    mount(app, deps) {
      const ownership = createObjectOwnership(deps.db, deps.clock, deps.logger);
      // One cap across every provider route: a caller's requests count together.
      // Cloud routes' signers (and their cached credentials) are shared by every provider route.
      const shared = { ...services, concurrency: services.concurrency ?? new CallerConcurrencyLimiter(deps.settings.maxConcurrentPerCaller), upstreamAuth: services.upstreamAuth ?? createUpstreamAuth(deps.secrets) };
      for (const provider of providers) {
        const handler = createProviderHandler(provider, deps, shared, ownership);
        app.all(`${provider.routePrefix}/*`, handler);
      }
    },
    // A provider route refused before its handler ran (the host guard) answers in that provider's shape.
    errorBody(pathname, error, requestId) {
      const provider = providers.find((p) => pathname === p.routePrefix || pathname.startsWith(`${p.routePrefix}/`));
      return provider?.errorBody(error, requestId);
    },
  };
}
