import { execFileSync } from "node:child_process";
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
    expect(files).toEqual(expect.arrayContaining(["bin/gatehouse.js", "dist/src/cli/main.js", "dist/src/adapters/node/server.js", "dist/src/adapters/node/sqlite-ledger-worker.mjs", "dist/vendor/kysely.js", "data/models-dev-api.json", "package.json", "examples/config/gatehouse.yaml"]));
  });
});
