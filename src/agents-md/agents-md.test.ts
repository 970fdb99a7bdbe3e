import { describe, expect, it } from "vitest";
import { detectRepo } from "./detect.ts";
import { MAX_LINES, readClaims, renderAgentsMd } from "./render.ts";
import type { RepoSnapshot } from "./repo.ts";
import { makeTargets } from "./stacks.ts";

function snapshot(files: Record<string, string>, dirs: string[] = []): RepoSnapshot {
  const all = new Set(dirs);
  for (const f of Object.keys(files)) {
    const parts = f.split("/");
    for (let i = 1; i < parts.length; i++) all.add(parts.slice(0, i).join("/"));
  }
  return { files: Object.keys(files).sort(), dirs: [...all].sort(), read: (p) => files[p] };
}

describe("stack detection details", () => {
  it("takes the package manager from the lockfile, else packageManager, else npm", () => {
    const pm = (files: Record<string, string>) => detectRepo(snapshot({ "package.json": JSON.stringify({ scripts: { test: "x" }, packageManager: "yarn@4.1.0" }), ...files })).commands.map((c) => c.command);
    expect(pm({ "bun.lockb": "" })).toEqual(["bun run test"]);
    expect(pm({ "yarn.lock": "" })).toEqual(["yarn run test"]);
    expect(pm({})).toEqual(["yarn run test"]);
    expect(detectRepo(snapshot({ "package.json": '{"scripts":{"test":"x"}}' })).commands[0]?.command).toBe("npm run test");
  });

  it("says which file is broken instead of guessing", () => {
    expect(() => detectRepo(snapshot({ "web/package.json": "{ nope" }))).toThrow(/^web\/package.json: not valid JSON/);
    expect(() => detectRepo(snapshot({ "catalog-info.yaml": "kind: [" }))).toThrow(/^catalog-info.yaml: /);
  });

  it("reads Makefile targets, not variables or special targets", () => {
    expect(makeTargets("CC := gcc\n.PHONY: test\ntest: build\n\tgo test\nbuild:\n\tgo build\nx ?= 1\n")).toEqual(["test", "build"]);
  });

  it("skips manifests inside generated dirs and below the depth limit", () => {
    const repo = snapshot({ "go.mod": "module x\n", "node_modules/a/package.json": "{}", "a/b/c/d/pom.xml": "<project/>" });
    expect(detectRepo(repo).components.map((c) => c.path)).toEqual(["."]);
  });
});

describe("the template", () => {
  it("stays within the line limit on a very large repo and round-trips its claims", () => {
    const files: Record<string, string> = {
      "package.json": JSON.stringify({ workspaces: ["p/*"], scripts: { build: "b", test: "t", lint: "l", typecheck: "c", format: "f" } }),
      "go.mod": "m",
      "Cargo.toml": "[package]",
      "pom.xml": "<project/>",
      "pyproject.toml": "[tool.ruff]\n[tool.mypy]\n[tool.pytest.ini_options]\n",
      Makefile: "build:\n",
    };
    for (let i = 0; i < 80; i++) {
      files[`d${i}/x.ts`] = "";
      files[`p/m${i}/package.json`] = '{"scripts":{"test":"t"}}';
    }
    const detection = detectRepo(snapshot(files));
    const deps = Array.from({ length: 90 }, (_, i) => `component:default/c${i}`);
    const rules = Array.from({ length: 60 }, (_, i) => ({ id: `r${i}`, title: "If you need X, use Y", rfc: "https://x", severity: "warning" as const, languages: [], paths: [], exceptions: [], body: "", bad: "", good: "", source: "r.md" }));
    const { text, claims } = renderAgentsMd("big", detection, { ref: "component:default/big", inStore: true, owner: "group:default/t", dependsOn: deps, dependedOnBy: deps }, rules);
    expect(text.split("\n").length - 1).toBeLessThanOrEqual(MAX_LINES);
    expect(text).toContain("- … 35 more rules");
    expect(readClaims(text)).toEqual(claims);
    expect(claims.dependsOn).toHaveLength(90);
  });

  it("refuses a corrupted claims block with how to fix it, and ignores a file without one", () => {
    expect(() => readClaims("<!-- gatehouse:agents-md-claims {nope} -->")).toThrow(/regenerate with `gatehouse agents-md generate`/);
    expect(readClaims("# hand-written\n")).toBeUndefined();
  });
});
