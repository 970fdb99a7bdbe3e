import { describe, expect, it } from "vitest";
import { adminRoutes } from "./module.ts";
import { adminOpenApiDocument } from "./openapi.ts";

const routes = adminRoutes("test");

describe("the admin routes table", () => {
  it("declares each path parameter in its params schema, and nothing else there", () => {
    for (const r of routes) {
      const inPath = [...r.path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]).sort();
      const declared = Object.keys(r.params?.shape ?? {}).sort();
      expect(declared, `${r.method} ${r.path}`).toEqual(inPath);
    }
  });

  it("has one route per method and path, unique operation ids, a JSON body on every POST and none on a GET", () => {
    expect(new Set(routes.map((r) => `${r.method} ${r.path}`)).size).toBe(routes.length);
    expect(new Set(routes.map((r) => r.operationId)).size).toBe(routes.length);
    for (const r of routes) expect(r.body !== undefined, `${r.method} ${r.path}`).toBe(r.method === "post");
  });

  it("puts every route in the document, each with its error answers and the bearer scheme unless it is the document itself", () => {
    const doc = adminOpenApiDocument(routes, "test") as { paths: Record<string, Record<string, { security: unknown[]; responses: Record<string, unknown> }>> };
    for (const r of routes) {
      const op = doc.paths[`/admin/v1${r.path}`]?.[r.method];
      expect(op, `${r.method} ${r.path}`).toBeDefined();
      expect(Object.keys(op?.responses ?? {})).toContain(String(r.status));
      if (r.authenticated) {
        expect(op?.security).toEqual([{ bearer: [] }]);
        expect(Object.keys(op?.responses ?? {})).toEqual(expect.arrayContaining(["401", "403"]));
      } else expect(op?.security).toEqual([]);
    }
    expect(routes.filter((r) => !r.authenticated).map((r) => r.path)).toEqual(["/openapi.json"]);
  });
});
