import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ESLint } from "eslint";
import tseslint from "typescript-eslint";
import { describe, expect, it } from "vitest";
import { ARCHITECTURE_PAGE, layerOf, parseLayerTable, readLayers, repoRoot, verdict } from "../../tools/architecture/layers.ts";

// The import rule of `npm run lint` is the layer table of docs/architecture.md. These tests lint
// made-up files at real paths with the project's own eslint.config.js (type-aware rules off, so
// a file that is not on disk can be linted), and check the table reader fails closed.

/** The project's lint config without the type-aware rules: the layer rule needs no types. */
const eslint = new ESLint({ cwd: repoRoot, cache: false, overrideConfig: [{ ...tseslint.configs.disableTypeChecked, files: ["**/*.ts"] }] });

async function layerErrors(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(repoRoot, path) });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? "parse"}: ${m.message}`);
}

const table = (rows: string[]): string => ["# x", "", "## Layers", "| folder | job | may import |", "|---|---|---|", ...rows, "", "text"].join("\n");

describe("the layer rule (eslint layers/imports) enforces docs/architecture.md's table", () => {
  it("fails a file that imports across a forbidden boundary, naming the table's row", async () => {
    const errors = await layerErrors("src/core/layer-fixture.ts", `import { compileRules } from "../policy/index.ts";\nexport const rules = compileRules;\n`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^layers\/imports: src\/core may not import src\/policy \(\.\.\/policy\/index\.ts\): the layer table of docs\/architecture\.md \(line \d+\) lets src\/core import config \(types\), store \(types\)/);
  });

  it("catches every way of importing: export from, import(), typeof import(), a deeper file, another spelling of the path", async () => {
    const code = [
      `export { compileRules } from "../policy/index.ts";`,
      `export * from "../proxy/handler.ts";`,
      `export const later = () => import("../ledger/index.ts");`,
      `export type Later = typeof import("../dashboard/index.ts");`,
      `import { x } from "./../mcp/./sandbox/../index.ts";`,
      `export const y = x;`,
    ].join("\n");
    const errors = await layerErrors("src/core/layer-fixture.ts", code);
    expect(errors.map((e) => /may not import (src\/[a-z/]+)/.exec(e)?.[1])).toEqual(["src/policy", "src/proxy", "src/ledger", "src/dashboard", "src/mcp"]);
  });

  it("(types) allows `import type` only: `import { type X }` still loads the module at run time", async () => {
    expect(await layerErrors("src/core/layer-fixture.ts", `import type { OrgConfig } from "../config/index.ts";\nexport type C = OrgConfig;\n`)).toEqual([]);
    expect(await layerErrors("src/core/layer-fixture.ts", `export type { OrgConfig } from "../config/index.ts";\n`)).toEqual([]);
    const inline = await layerErrors("src/core/layer-fixture.ts", `import { type OrgConfig } from "../config/index.ts";\nexport type C = OrgConfig;\n`);
    expect(inline).toEqual([expect.stringMatching(/src\/core may import only types from src\/config/)]);
    const value = await layerErrors("src/core/layer-fixture.ts", `import { orgConfigSchema } from "../config/index.ts";\nexport const s = orgConfigSchema;\n`);
    expect(value).toEqual([expect.stringMatching(/src\/core may import only types from src\/config \(\.\.\/config\/index\.ts\): write `import type`/)]);
  });

  it("a unit test may make values of what its folder imports as types, but not reach another layer", async () => {
    expect(await layerErrors("src/core/layer-fixture.test.ts", `import { orgConfigSchema } from "../config/index.ts";\nexport const s = orgConfigSchema;\n`)).toEqual([]);
    const errors = await layerErrors("src/policy/layer-fixture.test.ts", `import { openSqlite } from "../adapters/node/sqlite.ts";\nexport const o = openSqlite;\n`);
    expect(errors).toEqual([expect.stringMatching(/src\/policy may not import src\/adapters\/node/)]);
  });

  it("allows what the row names, and the adapters everything", async () => {
    expect(await layerErrors("src/proxy/layer-fixture.ts", `import { providers } from "../providers/index.ts";\nexport const p = providers;\n`)).toEqual([]);
    expect(await layerErrors("src/adapters/node/layer-fixture.ts", `import { compileRules } from "../../policy/index.ts";\nexport const r = compileRules;\n`)).toEqual([]);
  });

  it("fails closed: a folder the table does not list, src/ code importing test/, a computed import()", async () => {
    expect(await layerErrors("src/newthing/index.ts", `export const x = 1;\n`)).toEqual([expect.stringMatching(/src\/newthing\/index\.ts is in no folder of the layer table/)]);
    expect(await layerErrors("src/policy/layer-fixture.ts", `import { ledgerRow } from "../../test/support/policy.ts";\nexport const r = ledgerRow;\n`)).toEqual([expect.stringMatching(/imports test code/)]);
    expect(await layerErrors("src/core/layer-fixture.ts", `export const load = (name: string) => import(\`./\${name}.ts\`);\n`)).toEqual([expect.stringMatching(/computed specifier/)]);
    // test/ itself is no layer (but test/fake-upstream is, and may import nothing of ours).
    expect(await layerErrors("test/gateway/layer-fixture.ts", `import { compileRules } from "../../src/policy/index.ts";\nexport const r = compileRules;\n`)).toEqual([]);
    expect(await layerErrors("test/fake-upstream/layer-fixture.ts", `import { compileRules } from "../../src/policy/index.ts";\nexport const r = compileRules;\n`)).toEqual([expect.stringMatching(/test\/fake-upstream may not import src\/policy/)]);
  });
});

describe("the layer table reader", () => {
  it("reads every folder of the committed table, and every folder of src/ is in it", () => {
    const layers = readLayers();
    expect(layers.map((l) => l.folder)).toEqual(expect.arrayContaining(["src/core", "src/proxy", "src/policy", "src/adapters/node", "src/adapters/workers", "src/cli", "test/fake-upstream"]));
    const page = readFileSync(ARCHITECTURE_PAGE, "utf8");
    for (const layer of layers) expect(page).toContain(`\`${layer.folder}\``);
    expect(layerOf(layers, join(repoRoot, "src/adapters/node/server.ts"))?.folder).toBe("src/adapters/node");
    const files = readdirSync(join(repoRoot, "src"), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
    expect(files.length).toBeGreaterThan(100);
    expect(files.filter((file) => !layerOf(layers, file))).toEqual([]);
  });

  it("parses names, prefixes, (types) and reasons", () => {
    const layers = parseLayerTable(table(["| `src/a` | x | — |", "| `src/b/one`, `src/b/two` | x | a (types, because), c (a reason, with a comma) |", "| `src/c` | x | b |", "| `src/d` | x | everything (an edge) |"]));
    const [a, one, , c, d] = layers;
    expect(one?.allows).toEqual([
      { layer: "src/a", typesOnly: true },
      { layer: "src/c", typesOnly: false },
    ]);
    expect(c?.allows.map((x) => x.layer)).toEqual(["src/b/one", "src/b/two"]);
    expect(d?.everything).toBe(true);
    expect(verdict(one!, a!, true)).toBe("ok");
    expect(verdict(one!, a!, false)).toBe("types-only");
    expect(verdict(one!, a!, false, true)).toBe("ok");
    expect(verdict(a!, c!, true)).toBe("forbidden");
  });

  it("ignores a remark after a spaced dash, but not a dash inside a reason", () => {
    const [a, b] = parseLayerTable(table(["| `src/a` | x | — |", "| `src/b` | x | a (types: the port — never more) — never c |", "| `src/c` | x | — |"]));
    expect(b?.allows).toEqual([{ layer: a?.folder, typesOnly: true }]);
  });

  it("refuses a table it cannot read exactly, rather than allowing more than it says", () => {
    expect(() => parseLayerTable(table(["| `src/a` | x | nothing of ours but types |"]))).toThrow(/cannot read "nothing of ours but types"/);
    expect(() => parseLayerTable(table(["| `src/a` | x | core |"]))).toThrow(/names "core", which is no folder of the table/);
    expect(() => parseLayerTable(table(["| `src/a` | x | — |", "| `src/a` | x | — |"]))).toThrow(/twice/);
    expect(() => parseLayerTable(table(["| src/a | x | — |"]))).toThrow(/names no `folder`/);
    expect(() => parseLayerTable("# no layers here\n")).toThrow(/no '## Layers' heading/);
    expect(() => parseLayerTable(["## Layers", "| folder | job |", "|---|---|", "| `src/a` | x |"].join("\n"))).toThrow(/"may import" columns/);
  });
});
