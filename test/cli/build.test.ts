import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildDist, buildIfStale, rewriteSpecifiers } from "../../bin/build.mjs";
import { buildLock, distIsStale, listSources } from "../../bin/dist-freshness.mjs";

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A project shaped like ours: src/ with .ts imports of .ts, a worker .mjs, a JSON file outside src/, a test and the Workers adapter. */
function tinyProject(): string {
  const root = mkdtempSync(join(tmpdir(), "gatehouse-build-"));
  made.push(root);
  const write = (path: string, text: string) => {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write("data/numbers.json", `{"answer": 42}`);
  write("src/lib/add.ts", `export const add = (a: number, b: number): number => a + b;\n`);
  write("src/lib/types.ts", `export interface Pair { a: number; b: number }\n`);
  write("src/lib/worker.mjs", `export const fromWorker = "worker";\n`);
  write(
    "src/main.ts",
    [
      `import type { Pair } from "./lib/types.ts";`,
      `import { add } from "./lib/add.ts";`,
      `import numbers from "../data/numbers.json" with { type: "json" };`,
      `const pair: Pair = { a: numbers.answer, b: 1 };`,
      `const lazy = await import("./lib/add.ts");`,
      `const worker = await import(new URL("./lib/worker.mjs", import.meta.url).href);`,
      `import { sql } from "kysely";`,
      `console.log(add(pair.a, pair.b), lazy.add(1, 1), worker.fromWorker, typeof sql);`,
    ].join("\n"),
  );
  write("src/main.test.ts", `throw new Error("tests are not compiled");\n`);
  write("src/adapters/workers/index.ts", `export default {};\n`);
  return root;
}

describe("bin/build.mjs", () => {
  it("compiles a project to dist/ that runs under plain node: .ts imports become .js, JSON outside src/ still found, workers copied", async () => {
    const root = tinyProject();
    await buildDist(root);
    const out = execFileSync(process.execPath, [join(root, "dist/src/main.js")], { encoding: "utf8" });
    expect(out.trim()).toBe("43 2 worker function");
    expect(readFileSync(join(root, "dist/src/main.js"), "utf8")).not.toMatch(/\.ts"/);
  });

  it("leaves tests and the Workers adapter out of dist/", async () => {
    const root = tinyProject();
    const sources = listSources(root).map((f) => f.slice(root.length + 1));
    expect(sources).toEqual(["src/lib/add.ts", "src/lib/types.ts", "src/lib/worker.mjs", "src/main.ts"]);
  });

  it.each([["src/review/testing/fake-github.ts"], ["src/usage/fixtures/streams.ts"], ["src/policy/test-helpers.ts"], ["src/proxy/fake-upstream.ts"]])("refuses to build with test support in src/ (%s): it belongs under test/", async (path) => {
    const root = tinyProject();
    mkdirSync(join(root, dirname(path)), { recursive: true });
    writeFileSync(join(root, path), `export const fake = true;\n`);
    expect(() => listSources(root)).toThrow(/test support in src\/; move it under test\//);
    await expect(buildDist(root)).rejects.toThrow(/test support in src\//);
  });

  it("is stale when missing, when a source is newer, when a file is added or removed; fresh right after a build", async () => {
    const root = tinyProject();
    expect(distIsStale(root)).toBe(true);
    expect(await buildIfStale(root)).toBe(true);
    expect(distIsStale(root)).toBe(false);
    expect(await buildIfStale(root)).toBe(false);

    writeFileSync(join(root, "src/lib/add.ts"), readFileSync(join(root, "src/lib/add.ts"))); // an edit after the build
    expect(distIsStale(root)).toBe(true);
    await buildIfStale(root);
    expect(distIsStale(root)).toBe(false);

    writeFileSync(join(root, "src/lib/extra.ts"), "export const extra = 1;\n");
    expect(distIsStale(root)).toBe(true);
    await buildIfStale(root);
    rmSync(join(root, "src/lib/extra.ts"));
    expect(distIsStale(root)).toBe(true);
  });

  it("leaves no esbuild process behind in its process group (a CLI that rebuilt must exit clean)", async () => {
    const root = tinyProject();
    const script = `const { buildDist } = await import(${JSON.stringify(new URL("../../bin/build.mjs", import.meta.url).href)}); await buildDist(${JSON.stringify(root)});`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { detached: true, stdio: "ignore", env: { ...process.env, ESBUILD_WORKER_THREADS: "" } });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(0);
    let alive = true;
    try {
      process.kill(-(child.pid as number), 0);
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe("ESRCH");
      alive = false;
    }
    if (alive) process.kill(-(child.pid as number), "SIGKILL");
    expect(alive, "the build left a process in its group").toBe(false);
  });

  it("builders started at once (tests start many CLIs after an edit) take turns: every one succeeds and dist/ is whole", async () => {
    const root = tinyProject();
    const script = `const { buildIfStale } = await import(${JSON.stringify(new URL("../../bin/build.mjs", import.meta.url).href)}); await buildIfStale(${JSON.stringify(root)});`;
    const runs = Array.from({ length: 4 }, () => new Promise<number | null>((resolve) => spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: "ignore" }).once("exit", resolve)));
    expect(await Promise.all(runs)).toEqual([0, 0, 0, 0]);
    expect(distIsStale(root)).toBe(false);
    expect(execFileSync(process.execPath, [join(root, "dist/src/main.js")], { encoding: "utf8" }).trim()).toBe("43 2 worker function");
  });

  it("a builder waits while another holds the build lock, then builds", async () => {
    const root = tinyProject();
    const release = await buildLock(root);
    const script = `const { buildIfStale } = await import(${JSON.stringify(new URL("../../bin/build.mjs", import.meta.url).href)}); await buildIfStale(${JSON.stringify(root)});`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    // Long enough for an unlocked build of this tiny project to finish several times over.
    const early = await Promise.race([exited.then(() => "exited"), new Promise((r) => setTimeout(() => r("waiting"), 3_000))]);
    expect(early).toBe("waiting");
    expect(distIsStale(root)).toBe(true);
    release();
    expect(await exited).toBe(0);
    expect(distIsStale(root)).toBe(false);
  });

  it("a lock left by a builder that was killed is taken over at once", async () => {
    const root = tinyProject();
    // A holder that is gone: a child that took the lock and exited without releasing it.
    const script = `const { buildLock } = await import(${JSON.stringify(new URL("../../bin/dist-freshness.mjs", import.meta.url).href)}); await buildLock(${JSON.stringify(root)}); process.exit(0);`;
    const code = await new Promise<number | null>((resolve) => spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: "ignore" }).once("exit", resolve));
    expect(code).toBe(0);
    const started = Date.now();
    expect(await buildIfStale(root)).toBe(true);
    expect(Date.now() - started).toBeLessThan(60_000); // not the two-minute wait for an old lock
  });

  it("rewrites only relative specifiers: packages and node: imports stay as they are", () => {
    const root = "/p";
    const code = `import a from "./a.ts";\nimport { Kysely } from "kysely";\nimport b from "hono";\nimport "node:fs";\nexport * from "../x.ts";\nconst u = new URL("./w.mjs", import.meta.url);\nimport d from "../../data/d.json" with { type: "json" };`;
    const out = rewriteSpecifiers(code, "/p/src/dir/file.ts", root);
    expect(out).toContain(`import a from "./a.js"`);
    expect(out).toContain(`import b from "hono"`);
    expect(out).toContain(`import { Kysely } from "../../vendor/kysely.js"`); // dist/src/dir/file.js → dist/vendor
    expect(out).toContain(`import "node:fs"`);
    expect(out).toContain(`export * from "../x.js"`);
    expect(out).toContain(`new URL("./w.mjs", import.meta.url)`);
    expect(out).toContain(`from "../../../data/d.json"`);
  });
});
