import type { AdminRoute } from "../route.ts";
import { auditRoutes } from "./audit.ts";
import { budgetOverrideRoutes } from "./budget-overrides.ts";
import { ledgerRoutes } from "./ledger.ts";
import { serviceAccountRoutes } from "./service-accounts.ts";
import { tokenRoutes } from "./tokens.ts";

/**
 * Every route of /admin/v1, in the order of the OpenAPI document. A new group of routes is one
 * more entry here: the router mounts it behind the admin check and the document lists it.
 */
export const ADMIN_ROUTE_GROUPS: ReadonlyArray<{ name: string; routes: readonly AdminRoute[] }> = [
  { name: "service accounts", routes: serviceAccountRoutes },
  { name: "people's tokens", routes: tokenRoutes },
  { name: "usage and requests", routes: ledgerRoutes },
  { name: "audit", routes: auditRoutes },
  { name: "budget overrides", routes: budgetOverrideRoutes },
];
