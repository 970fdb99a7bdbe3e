import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BEGIN, END, withCurrentGraph } from "../../tools/architecture/import-graph.ts";
import { ARCHITECTURE_PAGE } from "../../tools/architecture/layers.ts";

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

describe("docs/architecture.md", () => {
  it("has the import graph by layer that the code has (npm run docs:architecture)", () => {
    const page = readFileSync(ARCHITECTURE_PAGE, "utf8");
    expect(withCurrentGraph(page)).toBe(page);
  });

  it("the graph is computed from the files: a new import changes it, and one the table forbids is marked", () => {
    const root = mkdtempSync(join(tmpdir(), "gatehouse-graph-"));
    made.push(root);
    const write = (path: string, text: string) => {
      mkdirSync(join(root, dirname(path)), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    const page = ["## Layers", "| folder | job | may import |", "|---|---|---|", "| `src/core` | x | — |", "| `src/proxy` | x | core, store (types) |", "| `src/store` | x | — |", "", BEGIN, END, ""].join("\n");
    write("src/core/a.ts", "export const a = 1;\n");
    write("src/store/s.ts", "export type S = number;\nexport const s = 1;\n");
    write("src/proxy/p.ts", `import { a } from "../core/a.ts";\nimport type { S } from "../store/s.ts";\nexport const p: S = a;\n`);
    write("src/proxy/p.test.ts", `import { s } from "../store/s.ts";\nexport const t = s;\n`);
    expect(withCurrentGraph(page, root)).toContain("| `src/proxy` | core, store (types) |");
    write("src/core/b.ts", `import { p } from "../proxy/p.ts";\nexport const b = p;\n`);
    expect(withCurrentGraph(page, root)).toContain("| `src/core` | proxy ✗ |");
  });
});
