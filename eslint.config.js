// Lint: typescript-eslint's recommended type-checked rules over src/, test/, bench/ and tools/
// (tests are code too: a floating promise in a test is a test that cannot fail), and the layer
// rule, which reads the layering table of docs/architecture.md. `npm run lint` (cached).
import js from "@eslint/js";
import { tsImport } from "tsx/esm/api";
import tseslint from "typescript-eslint";

/** The layer rule is TypeScript (tools/architecture/, type-checked with the rest); tsx loads it. */
const { default: layers } = await tsImport("./tools/architecture/eslint-plugin.ts", import.meta.url);

export default tseslint.config(
  { ignores: ["dist/**", "dist.*/**", "node_modules/**", "tools/conformance/**", "**/*.d.ts", ".scratch/**"] },
  {
    files: ["src/**/*.ts", "test/**/*.ts", "bench/**/*.ts", "tools/**/*.ts"],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    plugins: { layers },
    rules: {
      "layers/imports": "error",
      // The project's bar, stated explicitly (all but no-empty's catch option are in the preset).
      "no-empty": ["error", { allowEmptyCatch: false }],
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "all", caughtErrorsIgnorePattern: "^_" }],
      // Turned off, each for a reason:
      // - async without await is how this code implements a Promise-returning port (MCP
      //   handlers, Kysely's dialect, the transports): a synchronous throw becomes a rejection,
      //   which is what callers handle. 75 reports at adoption, none a bug.
      "@typescript-eslint/require-await": "off",
      // - the URL/header canonicaliser matches control characters on purpose, to refuse them.
      "no-control-regex": "off",
      // - flags Kysely's expression-builder idiom (`({ not, exists }) => …`) and destructured
      //   node: functions, neither of which uses `this`.
      "@typescript-eslint/unbound-method": "off",
      // - the MCP SDK types McpError.code as number and ErrorCode as a numeric enum; comparing
      //   them is the SDK's documented use.
      "@typescript-eslint/no-unsafe-enum-comparison": "off",
      // - `String(value)` of a parsed JSON value or a caught error is the deliberate "as text"
      //   of an error message, a fake's record or a doc generator; the rule cannot tell it from
      //   an object printed by accident and reported only those (9 at adoption).
      "@typescript-eslint/no-base-to-string": "off",
    },
  },
  {
    // In tests, vitest's asymmetric matchers (`expect.stringMatching(…)`, `expect.any(…)`) and
    // JSON.parse of a response are typed `any` by design: asserting on them is what a test does.
    // no-explicit-any still holds: a test may not declare `any` itself.
    files: ["**/*.test.ts", "test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
    },
  },
  {
    // miniflare's declarations import @cloudflare/workers-types, which is not installed (the
    // Worker is typechecked against its own bindings.ts instead), so its D1/Durable Object
    // results are error types here: the unsafe-* rules would report every use of them, and the
    // casts to the Worker's own binding types would look unnecessary.
    files: ["test/scale/workerd*.ts", "test/store/ledger-columns.test.ts", "test/transport/contract.test.ts"],
    rules: {
      "@typescript-eslint/no-unnecessary-type-assertion": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
    },
  },
);
