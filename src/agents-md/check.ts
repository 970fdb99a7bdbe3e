import type { CatalogFacts } from "./catalog.ts";
import type { Detection } from "./detect.ts";
import { MAX_LINES, readClaims } from "./render.ts";
import type { RepoSnapshot } from "./repo.ts";

export type Materiality = "high" | "medium" | "low";

export interface StaleClaim {
  materiality: Materiality;
  kind: "missing-file" | "unchecked" | "command-gone" | "command-new" | "path-gone" | "owner-changed" | "dependency-added" | "dependency-removed" | "dependent-changed" | "too-long";
  message: string;
}

const RANK: Record<Materiality, number> = { high: 0, medium: 1, low: 2 };

/**
 * Compares what AGENTS.md claims with what the repo and the catalog say now. High: an agent
 * following the file does something wrong (runs a command that is gone, asks the wrong owner);
 * medium: the file misleads (a path or a dependency is gone or new); low: it is incomplete or long.
 */
export function checkAgentsMd(text: string | undefined, repo: RepoSnapshot, detection: Detection, facts: CatalogFacts | undefined): StaleClaim[] {
  if (text === undefined) return [{ materiality: "high", kind: "missing-file", message: "AGENTS.md is missing: run `gatehouse agents-md generate`" }];
  const found: StaleClaim[] = [];
  const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
  if (lines > MAX_LINES) found.push({ materiality: "low", kind: "too-long", message: `AGENTS.md has ${lines} lines, over the limit of ${MAX_LINES}` });
  const claims = readClaims(text);
  if (!claims) {
    found.push({ materiality: "medium", kind: "unchecked", message: "AGENTS.md has no gatehouse claims block (hand-written?): only its length can be checked; regenerate it to have it checked" });
    return found;
  }
  const now = new Set(detection.commands.map((c) => c.command));
  for (const claimed of claims.commands) if (!now.has(claimed.command)) found.push({ materiality: "high", kind: "command-gone", message: `\`${claimed.command}\` is no longer declared (was ${claimed.source})` });
  const before = new Set(claims.commands.map((c) => c.command));
  for (const command of detection.commands) if (!before.has(command.command)) found.push({ materiality: "low", kind: "command-new", message: `\`${command.command}\` (${command.source}) is not in AGENTS.md` });
  const present = new Set([...repo.dirs.map((d) => `${d}/`), ...repo.files]);
  for (const path of claims.paths) if (!present.has(path)) found.push({ materiality: "medium", kind: "path-gone", message: `\`${path}\` no longer exists` });
  if (facts) {
    if ((claims.owner ?? "") !== (facts.owner ?? "")) found.push({ materiality: "high", kind: "owner-changed", message: `owner is \`${facts.owner ?? "none"}\` in the catalog, AGENTS.md says \`${claims.owner ?? "none"}\`` });
    const was = new Set(claims.dependsOn);
    const is = new Set(facts.dependsOn);
    for (const d of is) if (!was.has(d)) found.push({ materiality: "medium", kind: "dependency-added", message: `now depends on \`${d}\`` });
    for (const d of was) if (!is.has(d)) found.push({ materiality: "medium", kind: "dependency-removed", message: `no longer depends on \`${d}\`` });
    const dependents = (list: readonly string[]) => [...list].sort().join(",");
    if (dependents(claims.dependedOnBy) !== dependents(facts.dependedOnBy)) found.push({ materiality: "low", kind: "dependent-changed", message: `depended on by ${facts.dependedOnBy.length} entities now, AGENTS.md lists ${claims.dependedOnBy.length}` });
  }
  return found.sort((a, b) => RANK[a.materiality] - RANK[b.materiality]);
}
