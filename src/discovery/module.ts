import type { AppModule } from "../core/app.ts";
import type { OrgConfig } from "../config/index.ts";
import { publicBaseUrl } from "../core/public-url.ts";
import { buildWellKnown, type WellKnownOpencode } from "./build.ts";
import { emptyModelLister, type ModelLister } from "./catalog-port.ts";

export interface DiscoveryOptions {
  /** The catalog, or a getter for one built later (the server creates its catalog after the modules). */
  catalog?: ModelLister | (() => ModelLister);
  /** How long a built document is reused before the catalog is read again. */
  cacheMs?: number;
}

/**
 * `GET /.well-known/opencode`, unauthenticated (OpenCode fetches it before it has a token,
 * and on every start). Built from the config currently held, so a reload shows at once;
 * the catalog's model list is re-read at most every `cacheMs`.
 */
export function createDiscoveryModule(options: DiscoveryOptions = {}): AppModule {
  const source = options.catalog ?? emptyModelLister;
  const catalog: ModelLister = typeof source === "function" ? { listModels: (id) => source().listModels(id) } : source;
  const cacheMs = options.cacheMs ?? 60_000;
  let cached: { config: OrgConfig; base: string; at: number; doc: WellKnownOpencode } | undefined;
  return {
    name: "discovery",
    mount(app, deps) {
      app.get("/.well-known/opencode", (c) => {
        const config = deps.config.current();
        const base = publicBaseUrl(deps.settings, c.req.raw);
        const now = deps.clock.monotonic();
        if (!cached || cached.config !== config || cached.base !== base || now - cached.at > cacheMs) {
          cached = { config, base, at: now, doc: buildWellKnown(config, deps.settings, base, catalog) };
        }
        c.header("cache-control", "no-cache");
        return c.json(cached.doc);
      });
    },
  };
}
