import { execFile } from "node:child_process";
import type { GitPort, GrepMatch } from "../../review/git.ts";

interface GitResult {
  stdout: string;
  code: number;
  stderr: string;
}

/** Runs git without a shell (arguments are never interpreted), in one repository. */
function runGit(cwd: string, args: string[]): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile("git", ["-c", "core.quotePath=false", ...args], { cwd, maxBuffer: 256 * 1024 * 1024, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err && typeof err.code !== "number") {
        reject(new Error(`git ${args[0] ?? ""}: ${err.message}`, { cause: err }));
        return;
      }
      resolve({ stdout, stderr, code: err && typeof err.code === "number" ? err.code : 0 });
    });
  });
}

async function gitOk(cwd: string, args: string[]): Promise<string> {
  const result = await runGit(cwd, args);
  if (result.code !== 0) throw new Error(`git ${args.join(" ")} failed (${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}

function assertRelative(path: string): string {
  if (path.startsWith("/") || path.split("/").includes("..")) throw new Error(`path must be relative to the repository root: ${path}`);
  return path.replace(/^\.\//, "").replace(/\/+$/, "");
}

export class NodeGit implements GitPort {
  constructor(private readonly cwd: string) {}

  async revParse(ref: string): Promise<string> {
    return (await gitOk(this.cwd, ["rev-parse", "--verify", `${ref}^{commit}`])).trim();
  }

  async mergeBase(a: string, b: string): Promise<string> {
    return (await gitOk(this.cwd, ["merge-base", a, b])).trim();
  }

  diff(base: string, head: string): Promise<string> {
    return gitOk(this.cwd, ["diff", "--no-color", "--no-ext-diff", "-U3", "--find-renames", base, head]);
  }

  async show(ref: string, path: string): Promise<string | undefined> {
    const result = await runGit(this.cwd, ["show", `${ref}:${assertRelative(path)}`]);
    if (result.code !== 0) return undefined;
    return result.stdout;
  }

  async listFiles(ref: string, dir?: string): Promise<string[]> {
    const args = ["ls-tree", "-r", "--name-only", ref];
    if (dir && assertRelative(dir) !== "") args.push("--", assertRelative(dir));
    return (await gitOk(this.cwd, args)).split("\n").filter((line) => line !== "");
  }

  async grep(ref: string, pattern: string, dir?: string): Promise<GrepMatch[]> {
    const args = ["grep", "-n", "-I", "-E", "--no-color", "-e", pattern, ref];
    if (dir && assertRelative(dir) !== "") args.push("--", assertRelative(dir));
    const result = await runGit(this.cwd, args);
    if (result.code === 1) return [];
    if (result.code !== 0) throw new Error(`grep failed: ${result.stderr.trim()}`);
    const prefix = `${ref}:`;
    const matches: GrepMatch[] = [];
    for (const raw of result.stdout.split("\n")) {
      if (raw === "") continue;
      const rest = raw.startsWith(prefix) ? raw.slice(prefix.length) : raw;
      const m = /^(.*?):(\d+):(.*)$/.exec(rest);
      if (m) matches.push({ path: m[1] ?? "", line: Number(m[2]), text: m[3] ?? "" });
    }
    return matches;
  }
}

export interface FixtureRepository {
  dir: string;
  git: NodeGit;
  base: string;
  head: string;
  remove(): void;
}

/**
 * Builds a throwaway repository from an eval fixture: `baseDir` committed on `main`, then
 * `headDir` copied over it and committed on `feature`.
 */
export async function fixtureRepository(baseDir: string, headDir: string): Promise<FixtureRepository> {
  const { mkdtempSync, cpSync, rmSync, existsSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-eval-"));
  const fixedEnv = ["-c", "user.name=Gatehouse Eval", "-c", "user.email=eval@gatehouse.invalid", "-c", "commit.gpgsign=false"];
  const commit = async (message: string) => {
    await gitOk(dir, ["add", "-A"]);
    await gitOk(dir, [...fixedEnv, "commit", "-q", "--allow-empty", "-m", message]);
  };
  try {
    await gitOk(dir, ["init", "-q", "-b", "main"]);
    if (existsSync(baseDir)) cpSync(baseDir, dir, { recursive: true });
    await commit("base");
    await gitOk(dir, ["checkout", "-q", "-b", "feature"]);
    if (existsSync(headDir)) cpSync(headDir, dir, { recursive: true });
    await commit("head");
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, git: new NodeGit(dir), base: "main", head: "feature", remove: () => rmSync(dir, { recursive: true, force: true }) };
}
