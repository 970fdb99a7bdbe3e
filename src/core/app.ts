import { Hono } from "hono";
import { sql } from "kysely";
import { runReadiness } from "./readiness.ts";
import type { AppDeps } from "./deps.ts";
import { errorBody, toGatewayError, type GatewayError } from "./errors.ts";
import { hostGuard } from "./host-guard.ts";
import { trustedBaseUrl } from "./public-url.ts";
import { uuidv7 } from "./ids.ts";
import { landingPage, notFoundBody, routeDirectory, type RouteEntry } from "./landing.ts";

/**
 * A capability plugs into the app by mounting its routes. The order of the list is the
 * order of registration; each capability keeps its routes under its own prefix.
 */
export interface AppModule {
  name: string;
  mount(app: Hono<AppEnv>, deps: AppDeps): void;
  /**
   * The error body for a request to one of this module's paths when the gateway refuses it
   * before its route runs (the host guard), so it comes in that route's own shape (a
   * provider's). Undefined: not this module's path, the gateway's shape is used.
   */
  errorBody?(pathname: string, error: GatewayError, requestId: string): unknown;
}

export interface AppVariables {
  requestId: string;
}

export interface AppEnv {
  Variables: AppVariables;
  // Adapter-specific bindings (Node: incoming/outgoing; Workers: env bindings).
  Bindings: Record<string, unknown>;
}

/** The Hono app shared by every runtime. Runtime differences arrive through `deps`. */
export function createApp(deps: AppDeps, modules: readonly AppModule[]): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  // Not async: one promise and frame less per request; Hono awaits what next() returns.
  app.use("*", (c, next) => {
    c.set("requestId", uuidv7());
    return next();
  });
  // Before any route: a dev gateway refuses foreign Host names, every mode foreign Origins on writes.
  app.use("*", hostGuard(deps.settings));

  // Liveness: the process answers. Says nothing about the store (a restart would not fix it).
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  // Readiness: whether this instance can serve (store reachable, config loaded, catalog
  // present); 503 with the reasons otherwise, so a balancer routes around it.
  const readiness = deps.readiness ?? {
    store: async () => {
      await sql`select 1`.execute(deps.db);
      return undefined;
    },
  };
  app.get("/readyz", async (c) => {
    const report = await runReadiness(readiness);
    c.header("cache-control", "no-store");
    return c.json({ status: report.ready ? "ready" : "not_ready", checks: report.checks }, report.ready ? 200 : 503);
  });

  // The entry points, read from what the modules mounted (after mounting, on first use).
  let directory: RouteEntry[] | undefined;
  const entries = () => (directory ??= routeDirectory(app.routes));
  // Links on the landing and not-found pages: relative ones when the origin cannot be trusted.
  const originOf = (request: Request) => trustedBaseUrl(deps.settings, request) ?? "";

  app.get("/", (c) => {
    c.header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'");
    return c.html(landingPage(originOf(c.req.raw), entries()));
  });

  for (const module of modules) module.mount(app, deps);

  app.notFound((c) => c.json(notFoundBody(c.req.method, new URL(c.req.url).pathname, originOf(c.req.raw), entries(), c.get("requestId") ?? ""), 404));

  app.onError((err, c) => {
    const gatewayError = toGatewayError(err);
    const requestId = c.get("requestId") ?? "";
    if (gatewayError.code === "internal") deps.logger.error({ err: describeError(err), requestId }, "unhandled error");
    const pathname = new URL(c.req.url).pathname;
    for (const module of modules) {
      const shaped = module.errorBody?.(pathname, gatewayError, requestId);
      if (shaped !== undefined) return c.json(shaped as object, gatewayError.status as 500);
    }
    return c.json(errorBody(gatewayError, requestId), gatewayError.status as 500);
  });

  return app;
}

/** Error name and message only: stacks and causes may quote secrets from upstream bodies. */
export function describeError(err: unknown): { name: string; message: string } {
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: "unknown", message: String(err) };
}
