import { checkAgentsMd, type StaleClaim } from "./check.ts";
import { detectRepo } from "./detect.ts";
import type { RepoSnapshot } from "./repo.ts";
import { isGeneratedDir } from "./repo.ts";

/** The files detection reads the text of; everything else it only needs to know exists. */
export const DETECTION_READS: ReadonlySet<string> = new Set([
  "package.json",
  "pnpm-workspace.yaml",
  "pyproject.toml",
  "tox.ini",
  "go.mod",
  "go.work",
  "Cargo.toml",
  "pom.xml",
  "settings.gradle",
  "settings.gradle.kts",
  "Makefile",
  "catalog-info.yaml",
  "catalog-info.yml",
]);
/** Path segments at most of a file detection reads (manifests up to three directories down). */
export const DETECTION_READ_DEPTH = 4;

/**
 * `agents-md check` for a tree read asynchronously (the reviewer's view of the head commit):
 * the repo-side claims only (commands, paths, length), since a CI review has no catalog store.
 * A hand-written file (no claims block) gives nothing: the specialist reads it itself. A repo
 * whose manifests cannot be read is reported as a finding, not skipped.
 */
export async function staleClaimsInTree(agentsMd: string, list: () => Promise<string[]>, read: (path: string) => Promise<string | undefined>): Promise<StaleClaim[]> {
  const files = (await list()).filter((f) => !f.split("/").slice(0, -1).some(isGeneratedDir));
  const dirs = new Set<string>();
  const texts = new Map<string, string>();
  for (const file of files) {
    const parts = file.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
    if (parts.length <= DETECTION_READ_DEPTH && DETECTION_READS.has(parts.at(-1) ?? "")) {
      const text = await read(file);
      if (text !== undefined) texts.set(file, text);
    }
  }
  const snapshot: RepoSnapshot = { files, dirs: [...dirs].sort(), read: (path) => texts.get(path) };
  let detection;
  try {
    detection = detectRepo(snapshot);
  } catch (err) {
    return [{ materiality: "medium", kind: "unchecked", message: `AGENTS.md could not be checked: ${err instanceof Error ? err.message : String(err)}` }];
  }
  return checkAgentsMd(agentsMd, snapshot, detection, undefined).filter((f) => f.kind !== "unchecked");
}
