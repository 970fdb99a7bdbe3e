// Node module hooks that compile the TypeScript sources with esbuild as they load, so a fresh
// clone runs without a build step. Why not tsx (used for scripts and the sandbox worker): tsx
// compiles with esbuild's keepNames, which wraps every function and closure in a name-setting
// helper; on the proxy's hot path that costs about 12% of the CPU per request (bench/README.md).
// Relative imports name their `.ts` files (allowImportingTsExtensions), so no resolve hook.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { transform } from "esbuild";

// The options of tsconfig.json that change emitted code; esbuild reads nothing else from it.
const tsconfigRaw = { compilerOptions: { target: "ES2022", verbatimModuleSyntax: true, useDefineForClassFields: true } };

export async function load(url, context, nextLoad) {
  const path = url.startsWith("file:") ? fileURLToPath(url) : "";
  if (!path.endsWith(".ts") || path.includes("/node_modules/")) return nextLoad(url, context);
  const source = await readFile(path, "utf8");
  const { code } = await transform(source, { loader: "ts", format: "esm", target: `node${process.versions.node}`, sourcemap: "inline", sourcefile: path, tsconfigRaw });
  return { format: "module", source: code, shortCircuit: true };
}
