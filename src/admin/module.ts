import { Hono, type Context } from "hono";
import { z } from "zod";
import type { AppEnv, AppModule } from "../core/app.ts";
import { describeError } from "../core/app.ts";
import type { AppDeps } from "../core/deps.ts";
import { GatewayError, errorBody, toGatewayError } from "../core/errors.ts";
import { AdminService, type AdminContext, type RevocationList } from "../identity/index.ts";
import { decideAdmin } from "./authorize.ts";
import { ADMIN_BASE, OPENAPI_PATH, adminOpenApiDocument } from "./openapi.ts";
import { defineRoute, honoPath, type AdminRoute } from "./route.ts";
import { ADMIN_ROUTE_GROUPS } from "./routes/index.ts";
import { openApiDocumentSchema } from "./schemas.ts";

export interface AdminModuleOptions {
  /** This instance's revocation list: re-read at once after a revocation made here. */
  revocations: RevocationList | undefined;
  /** This instance's verified-key cache: dropped for an account when a key of it is revoked here. */
  keys: { forgetAccount(accountId: string): void } | undefined;
  /** The client's address as the runtime sees it (Node: the socket's peer; Workers: the edge's). */
  clientAddress: ((c: Context) => string | undefined) | undefined;
  /** The gateway's version, shown in the OpenAPI document. */
  version: string;
}

/** Every route the module serves, the OpenAPI document's own first. */
export function adminRoutes(version: string): AdminRoute[] {
  const routes = ADMIN_ROUTE_GROUPS.flatMap((g) => g.routes);
  let document: Record<string, unknown> | undefined;
  const openApi: AdminRoute = defineRoute({
    method: "get",
    path: OPENAPI_PATH,
    operationId: "openApiDocument",
    summary: "This document: the OpenAPI 3.1 description of /admin/v1, generated from the zod schemas the routes validate with",
    tag: "meta",
    authenticated: false,
    response: openApiDocumentSchema,
    handle: async (): Promise<Record<string, unknown>> => (document ??= adminOpenApiDocument(all, version)),
  });
  const all: AdminRoute[] = [openApi, ...routes];
  return all;
}

/**
 * `/admin/v1`: the admin API. Every route but the OpenAPI document authenticates from the
 * request's headers and needs an admin (authorize.ts) before anything else runs, including
 * for paths it does not know (they answer 404/405 only to an admin). A refused admin is
 * recorded in the audit log (`denied`); an action is recorded by the service layer.
 */
export function createAdminModule(options: AdminModuleOptions): AppModule {
  return {
    name: "admin",
    mount(app, deps) {
      const service = new AdminService(deps.db, deps.clock, { revocations: options.revocations, keys: options.keys });
      const routes = adminRoutes(options.version);
      const admin = new Hono<AppEnv>();
      admin.use("*", async (c, next) => {
        await next();
        // Answers carry keys once; nothing of them may be kept by a cache.
        c.header("cache-control", "no-store");
        c.header("x-content-type-options", "nosniff");
      });
      for (const route of routes) admin.on(route.method.toUpperCase(), honoPath(route.path), (c) => serve(c, deps, service, options, route));
      const templates = routes.map((r) => ({ method: r.method.toUpperCase(), pattern: templatePattern(r.path) }));
      admin.all("*", (c) =>
        respond(c, deps, async () => {
          await authorize(c, deps, service, options, `${c.req.method} ${new URL(c.req.url).pathname}`);
          const path = new URL(c.req.url).pathname.slice(ADMIN_BASE.length);
          const allowed = templates.filter((t) => t.pattern.test(path)).map((t) => t.method);
          if (allowed.length > 0) {
            c.header("allow", [...new Set(allowed)].join(", "));
            throw new GatewayError("method_not_allowed", `${c.req.method} is not allowed here; use ${[...new Set(allowed)].join(" or ")}.`);
          }
          throw new GatewayError("not_found", `No admin route ${c.req.method} ${new URL(c.req.url).pathname}; the routes are in ${ADMIN_BASE}${OPENAPI_PATH}.`);
        }),
      );
      app.route(ADMIN_BASE, admin);
    },
  };
}

async function serve(c: Context<AppEnv>, deps: AppDeps, service: AdminService, options: AdminModuleOptions, route: AdminRoute): Promise<Response> {
  return respond(c, deps, async () => {
    const ctx = route.authenticated ? await authorize(c, deps, service, options, route.operationId) : undefined;
    const params = parse(route.params, c.req.param(), "path");
    const query = parse(route.query, singleQuery(c), "query");
    const body = route.body ? parse(route.body, await jsonBody(c), "body") : undefined;
    const caller = ctx?.caller;
    const result = await route.handle({ params, query, body, ctx: ctx?.context as AdminContext, caller: caller as NonNullable<typeof caller>, service, deps });
    // The schema is the contract: what does not match it is the gateway's bug, not sent.
    return c.json(route.response.parse(result) as Record<string, unknown>, route.status);
  });
}

async function authorize(c: Context<AppEnv>, deps: AppDeps, service: AdminService, options: AdminModuleOptions, action: string) {
  const decision = await decideAdmin(c, deps);
  const context: AdminContext = {
    actor: decision.actor,
    via: "api",
    ip: options.clientAddress?.(c),
    userAgent: c.req.header("user-agent"),
    requestId: c.get("requestId"),
  };
  if (!decision.allowed) {
    // Who tried is known (the credential verified): the attempt is part of the record.
    await service.audit.denied(context, action, `${c.req.method} ${new URL(c.req.url).pathname}`, { error: decision.error.code });
    throw decision.error;
  }
  return { caller: decision.caller, context };
}

async function respond(c: Context<AppEnv>, deps: AppDeps, run: () => Promise<Response>): Promise<Response> {
  try {
    return await run();
  } catch (err) {
    const e = toGatewayError(err);
    if (e.code === "internal") deps.logger.error({ err: describeError(err), requestId: c.get("requestId") }, "admin API error");
    if (e.retryAfterSeconds !== undefined) c.header("retry-after", String(e.retryAfterSeconds));
    return c.json(errorBody(e, c.get("requestId") ?? ""), e.status as 400);
  }
}

function parse(schema: z.ZodType | undefined, value: unknown, where: string): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new GatewayError("bad_request", `Invalid ${where}: ${result.error.issues.map((i) => `${i.path.length ? `${i.path.join(".")}: ` : ""}${i.message}`).join("; ")}.`);
}

/** A query parameter given twice is ambiguous: refused rather than one of the two picked. */
function singleQuery(c: Context): Record<string, string> {
  const all = c.req.queries();
  const out: Record<string, string> = {};
  for (const [name, values] of Object.entries(all)) {
    if (values.length !== 1) throw new GatewayError("bad_request", `Query parameter "${name}" is given ${values.length} times; give it once.`);
    out[name] = values[0] as string;
  }
  return out;
}

/** Bodies are JSON only: a form post (what another site's page can send without asking) is refused with 415. */
async function jsonBody(c: Context): Promise<unknown> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) throw new GatewayError("unsupported_media_type", "Send the body as JSON with content-type: application/json ({} when there is nothing to say).");
  const text = await c.req.text();
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    if (err instanceof SyntaxError) throw new GatewayError("bad_request", "The body is not valid JSON.");
    throw err;
  }
}

function templatePattern(path: string): RegExp {
  const escaped = path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[A-Za-z0-9_]+\}/g, "[^/]+");
  return new RegExp(`^${escaped}$`);
}
