// ESLint rule `layers/imports`: every import from a file of a layer (a folder of the table in
// docs/architecture.md) goes to its own layer or to one its "may import" cell names. The table
// is read from the page when the lint starts, so the page is the rule. Fails closed: a file
// under src/ outside every folder of the table, an import of test code from src/ (other than
// from a unit test), and an import() with a computed specifier are errors too.
import type { TSESLint, TSESTree } from "@typescript-eslint/utils";
import { importEdge, IMPORT_NODE_TYPES, resolveSpecifier } from "./imports.ts";
import { ARCHITECTURE_PAGE, isUnitTest, layerOf, readLayers, repoPath, repoRoot, verdict } from "./layers.ts";

type MessageId = "forbidden" | "typesOnly" | "unlisted" | "testCode" | "computed";
/** `page` and `root` let the rule's own test point it at a scratch table and tree. */
type Options = [{ page?: string; root?: string }?];

const importsRule: TSESLint.RuleModule<MessageId, Options> = {
  defaultOptions: [],
  meta: {
    type: "problem",
    docs: { description: "imports follow the layering table of docs/architecture.md" },
    schema: [{ type: "object", properties: { page: { type: "string" }, root: { type: "string" } }, additionalProperties: false }],
    messages: {
      forbidden: "{{from}} may not import {{to}} ({{spec}}): the layer table of docs/architecture.md (line {{line}}) lets {{from}} import {{allowed}}. Move the code, or change the table's row and say why.",
      typesOnly: "{{from}} may import only types from {{to}} ({{spec}}): write `import type`, or change the table's row (docs/architecture.md line {{line}}) and say why.",
      unlisted: "{{file}} is in no folder of the layer table of docs/architecture.md: add its folder to the table, with what it may import.",
      testCode: "{{from}} imports test code ({{spec}}): test support lives under test/ and never ships, so src/ must not import it.",
      computed: "import() with a computed specifier: the layer rule cannot check it; use a string literal.",
    },
  },
  create(context) {
    const options = context.options[0] ?? {};
    const root = options.root ?? repoRoot;
    const layers = readLayers(options.page ?? ARCHITECTURE_PAGE);
    const file = context.filename;
    const from = layerOf(layers, file, root);
    const rel = repoPath(file, root);
    const inSrc = rel.startsWith("src/");
    const unitTest = isUnitTest(file);
    if (!from) {
      if (!inSrc) return {}; // test/, bench/, tools/ are no layers: they may import anything
      return { Program: (node) => context.report({ node, messageId: "unlisted", data: { file: rel } }) };
    }
    const allowed = from.everything ? "everything" : from.allows.map((a) => `${a.layer.replace(/^src\//, "")}${a.typesOnly ? " (types)" : ""}`).join(", ") || "nothing";
    const check = (node: TSESTree.Node): void => {
      const edge = importEdge(node);
      if (!edge) return;
      if (edge.source === undefined) {
        context.report({ node, messageId: "computed" });
        return;
      }
      const target = resolveSpecifier(edge.source, file);
      if (!target) return; // a package
      if (inSrc && !unitTest && repoPath(target, root).startsWith("test/")) {
        context.report({ node, messageId: "testCode", data: { from: from.folder, spec: edge.source } });
        return;
      }
      const to = layerOf(layers, target, root);
      if (!to) return; // data/ and other files outside every layer
      const result = verdict(from, to, edge.typeOnly, unitTest);
      if (result === "ok") return;
      const data = { from: from.folder, to: to.folder, spec: edge.source, allowed, line: String(from.line) };
      context.report({ node, messageId: result === "types-only" ? "typesOnly" : "forbidden", data });
    };
    return Object.fromEntries(IMPORT_NODE_TYPES.map((type) => [type, check]));
  },
};

export default {
  meta: { name: "gatehouse-layers" },
  rules: { imports: importsRule },
};
