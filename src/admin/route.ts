import type { z } from "zod";
import type { AppDeps } from "../core/deps.ts";
import type { Caller } from "../core/caller.ts";
import type { AdminContext, AdminService } from "../identity/index.ts";

/** Everything a handler gets: the validated input, who is calling and from where, the service layer. */
export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  ctx: AdminContext;
  caller: Caller;
  service: AdminService;
  deps: AppDeps;
}

export type HttpMethod = "get" | "post" | "delete";

type AnyObject = z.ZodObject;

/**
 * One admin route. Its zod schemas are the source of both the validation the router runs and
 * the OpenAPI document it serves (openapi.ts), so the two cannot disagree: a handler's result
 * is parsed by `response` before it is sent.
 */
export interface AdminRoute {
  method: HttpMethod;
  /** Under /admin/v1, OpenAPI style: `/service-accounts/{name}`. */
  path: string;
  operationId: string;
  summary: string;
  description: string;
  tag: string;
  params: AnyObject | undefined;
  query: AnyObject | undefined;
  body: z.ZodType | undefined;
  response: z.ZodType;
  status: 200 | 201;
  /** false only for the OpenAPI document itself: everything else needs an admin. */
  authenticated: boolean;
  handle(input: RouteInput<unknown, unknown, unknown>): Promise<unknown>;
}

export interface RouteSpec<P extends AnyObject | undefined, Q extends AnyObject | undefined, B extends z.ZodType | undefined, R extends z.ZodType> {
  method: HttpMethod;
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  response: R;
  status?: 200 | 201;
  authenticated?: boolean;
  handle(input: RouteInput<Out<P>, Out<Q>, Out<B>>): Promise<z.input<R>>;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

/** Declares a route with its types inferred from its schemas; the router sees the erased form. */
export function defineRoute<P extends AnyObject | undefined = undefined, Q extends AnyObject | undefined = undefined, B extends z.ZodType | undefined = undefined, R extends z.ZodType = z.ZodType>(spec: RouteSpec<P, Q, B, R>): AdminRoute {
  return {
    method: spec.method,
    path: spec.path,
    operationId: spec.operationId,
    summary: spec.summary,
    description: spec.description ?? spec.summary,
    tag: spec.tag,
    params: spec.params,
    query: spec.query,
    body: spec.body,
    response: spec.response,
    status: spec.status ?? 200,
    authenticated: spec.authenticated ?? true,
    handle: spec.handle,
  };
}

/** `/service-accounts/{name}` → `/service-accounts/:name` (Hono's spelling). */
export function honoPath(path: string): string {
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, ":$1");
}
