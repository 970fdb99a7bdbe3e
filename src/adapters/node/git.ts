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
