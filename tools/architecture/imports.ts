// What counts as an import of one module by another, on the ESTree of a TypeScript file. Shared by
// the lint rule (eslint-plugin.ts) and the import graph (import-graph.ts), so both see the same edges.
import type { TSESTree } from "@typescript-eslint/utils";
import { dirname, resolve } from "node:path";

/** An import statement or expression: the specifier as written, and whether it is erased at compile time. */
export interface ImportEdge {
  /** The specifier; undefined for `import(expression)`, which no static rule can check. */
  source: string | undefined;
  typeOnly: boolean;
}

/** ESTree node types that can import a module. */
export const IMPORT_NODE_TYPES = ["ImportDeclaration", "ExportNamedDeclaration", "ExportAllDeclaration", "ImportExpression", "TSImportType"] as const;

/**
 * The import a node makes, if any. Type-only means erased at compile time: `import type`,
 * `export type … from`, `typeof import("…")`. `import { type A } from` is NOT type-only: under
 * verbatimModuleSyntax it compiles to `import {} from`, which still loads the module.
 */
export function importEdge(node: TSESTree.Node): ImportEdge | undefined {
  switch (node.type) {
    case "ImportDeclaration":
      return { source: node.source.value, typeOnly: node.importKind === "type" };
    case "ExportNamedDeclaration":
    case "ExportAllDeclaration":
      if (!node.source) return undefined;
      return { source: node.source.value, typeOnly: node.exportKind === "type" };
    case "ImportExpression":
      if (node.source.type === "Literal" && typeof node.source.value === "string") return { source: node.source.value, typeOnly: false };
      if (node.source.type === "TemplateLiteral" && node.source.expressions.length === 0) return { source: node.source.quasis[0]?.value.cooked ?? undefined, typeOnly: false };
      return { source: undefined, typeOnly: false };
    case "TSImportType":
      return { source: node.source.value, typeOnly: true };
    default:
      return undefined;
  }
}

/** The file (absolute) a relative specifier names, or undefined for a package (`hono`, `node:fs`). */
export function resolveSpecifier(specifier: string, fromFile: string): string | undefined {
  if (!specifier.startsWith("./") && !specifier.startsWith("../") && specifier !== "." && specifier !== "..") return undefined;
  return resolve(dirname(fromFile), specifier);
}
