// Test support only: builds real git repositories in a temp dir.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { NodeGit } from "../../src/adapters/node/git.ts";

export type FileTree = Record<string, string | null>;

export interface TestRepo {
  dir: string;
  git: NodeGit;
  /** Commit another state on the feature branch (a new push). null deletes a file. */
  push(files: FileTree, message?: string): string;
  remove(): void;
}

const env = { ...process.env, GIT_AUTHOR_NAME: "Test", GIT_AUTHOR_EMAIL: "test@example.com", GIT_COMMITTER_NAME: "Test", GIT_COMMITTER_EMAIL: "test@example.com", GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z", GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z" };

function git(dir: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd: dir, env, encoding: "utf8" });
}

function write(dir: string, files: FileTree): void {
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    if (content === null) rmSync(full, { force: true });
    else {
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
  }
}

/** A repo with `main` holding `base` and branch `feature` holding base + head changes. */
export function createRepo(base: FileTree, head: FileTree): TestRepo {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-review-"));
  git(dir, "init", "-q", "-b", "main");
  write(dir, base);
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "--allow-empty", "-m", "base");
  git(dir, "checkout", "-q", "-b", "feature");
  const push = (files: FileTree, message = "change"): string => {
    write(dir, files);
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "--allow-empty", "-m", message);
    return git(dir, "rev-parse", "HEAD").trim();
  };
  push(head, "head");
  return { dir, git: new NodeGit(dir), push, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
