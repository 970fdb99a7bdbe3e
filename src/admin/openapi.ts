import { z } from "zod";
import type { AdminRoute } from "./route.ts";
import { errorResponseSchema } from "./schemas.ts";

export const ADMIN_BASE = "/admin/v1";
export const OPENAPI_PATH = "/openapi.json";

type JsonSchema = Record<string, unknown>;

/** A zod schema as an OpenAPI 3.1 schema object (JSON Schema 2020-12, the document's dialect). */
function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, target: "draft-2020-12", unrepresentable: "any" }) as JsonSchema;
  return rest;
}

function parameters(route: AdminRoute): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [where, shape] of [
    ["path", route.params],
    ["query", route.query],
  ] as const) {
    if (!shape) continue;
    const schema = jsonSchema(shape, "input");
    const properties = (schema["properties"] ?? {}) as Record<string, JsonSchema>;
    const required = new Set((schema["required"] ?? []) as string[]);
    for (const [name, property] of Object.entries(properties)) {
      const { description, ...rest } = property;
      out.push({ name, in: where, required: where === "path" || required.has(name), schema: rest, ...(typeof description === "string" ? { description } : {}) });
    }
  }
  return out;
}

const ERROR_RESPONSES: Record<string, string> = {
  "400": "The request is invalid: the message names each problem",
  "401": "No credential, or one the gateway refuses (unknown, expired, revoked)",
  "403": "Authenticated, but neither in an admin group nor a service account with the admin scope; or a cross-origin write",
  "404": "No such service account, key or route",
};

/**
 * The OpenAPI 3.1 document of /admin/v1, generated from the routes' zod schemas: requests as
 * their input type (what a client may send), responses as their output type (what is sent).
 */
export function adminOpenApiDocument(routes: readonly AdminRoute[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorRef = { $ref: "#/components/schemas/Error" };
  for (const route of routes) {
    const path = `${ADMIN_BASE}${route.path}`;
    const errors: Record<string, unknown> = {};
    for (const [status, description] of Object.entries(ERROR_RESPONSES)) {
      if (!route.authenticated && status !== "404") continue;
      errors[status] = { description, content: { "application/json": { schema: errorRef } } };
    }
    if (route.body) errors["415"] = { description: "The body is not application/json", content: { "application/json": { schema: errorRef } } };
    const params = parameters(route);
    (paths[path] ??= {})[route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      description: route.description,
      tags: [route.tag],
      ...(params.length ? { parameters: params } : {}),
      ...(route.body ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(route.body, "input") } } } } : {}),
      responses: {
        [String(route.status)]: { description: route.summary, content: { "application/json": { schema: jsonSchema(route.response, "output") } } },
        ...errors,
      },
      security: route.authenticated ? [{ bearer: [] }] : [],
    };
  }
  return {
    openapi: "3.1.0",
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    info: {
      title: "Gatehouse admin API",
      version,
      description:
        "Service accounts and keys, people's tokens and revocations, usage, the request log and the admin audit log. Callers: a person in an admin group (policy.dashboard.adminGroups) or a service-account key with the admin scope, as Authorization: Bearer. See docs/admin.md.",
    },
    servers: [{ url: "/" }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "a Gatehouse token, the identity-aware proxy's JWT, or a ghsa_ service-account key" } },
      schemas: { Error: jsonSchema(errorResponseSchema, "output") },
    },
  };
}
