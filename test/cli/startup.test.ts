import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandModules, commandsFor } from "../../src/cli/commands/index.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const bin = join(root, "bin/gatehouse.js");
const work = mkdtempSync(join(tmpdir(), "gatehouse-startup-"));

beforeAll(() => {
  // The CLI runs from dist/; build it now so no test measures a build.
  execFileSync(process.execPath, [join(root, "bin/build.mjs"), "--if-stale"], { stdio: "ignore" });
  // A store for `usage` to read (read-only commands never create one).
  execFileSync(process.execPath, [bin, "token", "issue", "--email", "dev@example.com"], { env: { ...process.env, GATEHOUSE_DATA_DIR: join(work, "data") }, stdio: "ignore" });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the CLI and returns the dist/ modules it loaded (paths under dist/src/). */
function loadedModules(args: string[]): string[] {
  const trace = join(work, `trace-${args.join("_").replace(/\W/g, "")}.txt`);
  execFileSync(process.execPath, ["--import", join(root, "test/cli/trace-imports.mjs"), bin, ...args], {
    env: { ...process.env, TRACE_IMPORTS_FILE: trace, GATEHOUSE_DATA_DIR: join(work, "data") },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const urls = readFileSync(trace, "utf8").split("\n").filter(Boolean);
  return [...new Set(urls.filter((u) => u.includes("/dist/src/")).map((u) => u.slice(u.indexOf("/dist/src/") + "/dist/src/".length)))];
}

describe("CLI start-up", () => {
  it("runs from compiled JS in dist/, never through a TypeScript loader", () => {
    const loaded = loadedModules(["--version"]);
    expect(loaded).toContain("cli/main.js");
    const trace = readFileSync(join(work, "trace-version.txt"), "utf8");
    expect(trace).not.toMatch(/\.ts\n/);
    expect(trace).not.toContain("/esbuild/");
  });

  it("--version prints the package version and loads no command module", () => {
    const out = execFileSync(process.execPath, [bin, "--version"], { encoding: "utf8" });
    expect(out.trim()).toBe(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version);
    expect(loadedModules(["--version"]).filter((m) => m.startsWith("cli/commands/") && m !== "cli/commands/index.js")).toEqual([]);
  });

  it("login --help loads the login command only, not the server or the store", () => {
    const loaded = loadedModules(["login", "--help"]);
    expect(loaded).toContain("cli/commands/login.js");
    expect(loaded).not.toContain("cli/commands/serve.js");
    expect(loaded).not.toContain("adapters/node/server.js");
    expect(loaded.filter((m) => m.startsWith("store/"))).toEqual([]);
  });

  it("usage loads the store but not the server, and kysely as one vendored file", () => {
    const loaded = loadedModules(["usage", "--format", "json"]);
    const trace = readFileSync(join(work, "trace-usage_format_json.txt"), "utf8");
    expect(trace).toContain("/dist/vendor/kysely.js");
    expect(trace).not.toContain("/node_modules/kysely/");
    expect(loaded).toContain("adapters/node/store.js");
    expect(loaded).not.toContain("adapters/node/server.js");
    expect(loaded).not.toContain("adapters/node/postgres.js");
    expect(loaded).not.toContain("dashboard/index.js");
    expect(loaded.filter((m) => m.startsWith("mcp/") || m.startsWith("sandbox/"))).toEqual([]);
  });

  it("leaves no process behind in its process group", async () => {
    for (const args of [["--version"], ["login", "--help"]]) {
      const child = spawn(process.execPath, [bin, ...args], { detached: true, stdio: "ignore" });
      const group = child.pid as number;
      await new Promise<void>((resolve) => child.once("exit", () => resolve()));
      // The group's leader has exited; any member still alive answers signal 0.
      let alive = true;
      try {
        process.kill(-group, 0);
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe("ESRCH");
        alive = false;
      }
      if (alive) process.kill(-group, "SIGKILL");
      expect(alive, `gatehouse ${args.join(" ")} left a process in its group`).toBe(false);
    }
  });

  it("selects the named command's module only; all for top-level help and unknown commands", () => {
    const names = (argv: string[]) => commandsFor(["node", "gatehouse", ...argv]).map((c) => c.name);
    expect(names(["--version"])).toEqual([]);
    expect(names(["login", "--help"])).toEqual(["login"]);
    expect(names(["help", "usage"])).toEqual(["usage"]);
    expect(names(["--help"])).toEqual(commandModules.map((c) => c.name));
    expect(names([])).toEqual(commandModules.map((c) => c.name));
    expect(names(["serv"])).toEqual(commandModules.map((c) => c.name));
  });

  it("each table entry loads the module that registers a command of that name", async () => {
    const { Command } = await import("commander");
    for (const entry of commandModules) {
      const program = new Command("gatehouse");
      (await entry.load())(program);
      expect(program.commands.map((c) => c.name())).toEqual([entry.name]);
    }
  });
});
