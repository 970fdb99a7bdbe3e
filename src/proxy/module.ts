import type { AppModule } from "../core/app.ts";
import { providers } from "../providers/index.ts";
import { createProviderHandler, type ProxyServices } from "./handler.ts";

/** Mounts one route per provider of the registry: `<prefix>/*` to its upstream. */
export function createProxyModule(services: ProxyServices): AppModule {
  return {
    name: "proxy",
    mount(app, deps) {
      for (const provider of providers) {
        const handler = createProviderHandler(provider, deps, services);
        app.all(`${provider.routePrefix}/*`, handler);
      }
    },
  };
}
