import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

// What `npm pack` / `npm publish` would ship: the compiled gateway, not its tests or fakes.

const root = fileURLToPath(new URL("../..", import.meta.url));
let files: string[] = [];

beforeAll(() => {
  execFileSync(process.execPath, [`${root}bin/build.mjs`, "--if-stale"], { stdio: "ignore" });
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  files = (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((f) => f.path) ?? [];
}, 120_000);

describe("npm pack", () => {
  it("holds no tests, test fakes, fixtures or TypeScript sources", () => {
    const testish = files.filter((f) => /(^|\/)(test|tests|testing|fixtures|fake-upstream)\//.test(f) || /\.test\.|test-helpers|fake/i.test(f) || (f.endsWith(".ts") && !f.endsWith(".d.ts")));
    expect(testish).toEqual([]);
  });

  it("holds the compiled CLI and what it reads at run time", () => {
    expect(files).toEqual(
      expect.arrayContaining([
        "bin/gatehouse.js",
        "dist/src/cli/main.js",
        "dist/src/adapters/node/server.js",
        "dist/src/adapters/node/sqlite-ledger-worker.mjs",
        "dist/vendor/kysely.js",
        "data/models-dev-api.json",
        "package.json",
        "examples/config/gatehouse.yaml",
      ]),
    );
  });
});

describe("lean install (npm ci --omit=dev)", () => {
  const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as { scripts: Record<string, string>; dependencies: Record<string, string> };

  it("runs no install script that fetches toolchains: only prepare, which compiles dist/ with a runtime dependency", () => {
    expect(Object.keys(pkg.scripts).filter((s) => /^(pre|post)?install$/.test(s))).toEqual([]);
    expect(pkg.scripts["prepare"]).toBe("node bin/build.mjs");
    expect(pkg.dependencies["esbuild"]).toBeDefined();
  });

  it("every package the compiled gateway imports is a runtime dependency, not a dev one", () => {
    const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : /\.m?js$/.test(e.name) ? [join(dir, e.name)] : []));
    const builtins = new Set(builtinModules);
    const missing = new Set<string>();
    for (const file of [...walk(`${root}dist/src`), `${root}bin/gatehouse.js`, `${root}bin/build.mjs`, `${root}bin/dist-freshness.mjs`]) {
      // Static imports and re-exports start a line in esbuild's output; dynamic ones are import("…").
      for (const m of readFileSync(file, "utf8")
        .replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, "")
        .matchAll(/^(?:import|export)\s[^;]*?\bfrom\s*"([^"]+)"|^import\s*"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/gm)) {
        const spec = (m[1] ?? m[2] ?? m[3]) as string;
        if (spec.startsWith(".")) continue;
        if (spec.startsWith("node:") || builtins.has(spec)) continue;
        const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] as string);
        if (!pkg.dependencies[name]) missing.add(`${name} (${file.slice(root.length)})`);
      }
    }
    expect([...missing]).toEqual([]);
  });
});
