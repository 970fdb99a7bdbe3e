/** The admin API under /admin/v1 (docs/admin.md): routes, their zod schemas and the OpenAPI document made from them. */
export { createAdminModule, adminRoutes } from "./module.ts";
export type { AdminModuleOptions } from "./module.ts";
export { adminOpenApiDocument, ADMIN_BASE, OPENAPI_PATH } from "./openapi.ts";
export { defineRoute, honoPath } from "./route.ts";
export type { AdminRoute, RouteInput } from "./route.ts";
export { ADMIN_ROUTE_GROUPS } from "./routes/index.ts";
export { decideAdmin, adminGroups } from "./authorize.ts";
export { revocationBoundMs } from "./revocation-bound.ts";
export { queryRequests } from "./requests-query.ts";
