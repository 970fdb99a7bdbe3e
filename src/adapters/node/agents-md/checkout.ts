import { readFileSync, readdirSync } from "node:fs";
import { writeFile, rename } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { isGeneratedDir, type RepoAccess, type RepoSnapshot } from "../../../agents-md/index.ts";

/** Files listed per checkout at most: a checkout larger than this is read in part (detection needs manifests, not every file). */
const MAX_FILES = 50_000;

/** A local checkout as a RepoSnapshot: generated dirs and .git are listed, not entered. */
export function readCheckout(root: string): RepoSnapshot {
  const files: string[] = [];
  const dirs: string[] = [];
  const walk = (rel: string): void => {
    const entries = readdirSync(rel === "" ? root : join(root, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      if (files.length >= MAX_FILES) return;
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name === ".git") continue;
        dirs.push(path);
        if (!isGeneratedDir(entry.name)) walk(path);
      } else if (entry.isFile()) files.push(path);
    }
  };
  walk("");
  const known = new Set(files);
  return {
    files,
    dirs,
    read(path) {
      if (!known.has(path)) return undefined;
      return readFileSync(join(root, path), "utf8");
    },
  };
}

/** Checkouts on this machine; AGENTS.md is replaced atomically (temp file + rename), so a kill never leaves half a file. */
export const localRepoAccess: RepoAccess = {
  snapshot: async (path) => readCheckout(resolve(path)),
  async writeAgentsMd(path, text) {
    const target = join(resolve(path), "AGENTS.md");
    const temp = `${target}.${process.pid}.tmp`;
    await writeFile(temp, text, "utf8");
    await rename(temp, target);
  },
  name: (path) => basename(resolve(path)),
};
