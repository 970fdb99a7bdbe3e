import type { CodexRule } from "../codex/index.ts";
import { rulesForFiles } from "../codex/index.ts";
import type { CatalogQueries } from "../knowledge/queries.ts";
import type { StepHandler } from "../jobs/index.ts";
import { catalogFacts, type CatalogFacts } from "./catalog.ts";
import { detectRepo, type Detection } from "./detect.ts";
import { renderAgentsMd } from "./render.ts";
import type { PullRequestOutcome } from "./github-pr.ts";
import type { RepoSnapshot } from "./repo.ts";

export const GENERATE_JOB_KIND = "agents-md.generate";

/** Where the repositories are and how a file is written: the runtime's part (adapters/node/agents-md). */
export interface RepoAccess {
  snapshot(path: string): Promise<RepoSnapshot>;
  /** Writes `AGENTS.md` at the repo root. */
  writeAgentsMd(path: string, text: string): Promise<void>;
  name(path: string): string;
}

export interface GenerateStepInput {
  path: string;
}

/** Opens or updates the repo's AGENTS.md pull request instead of writing the checkout (github-pr.ts). */
export type PullRequestPublisher = (path: string, text: string) => Promise<PullRequestOutcome>;

export interface GenerateStepResult {
  path: string;
  pr?: PullRequestOutcome;
  lines: number;
  /** false: the file already had these bytes (a rerun writes nothing). */
  written: boolean;
  ref?: string;
}

export async function planAgentsMd(repo: RepoSnapshot, name: string, queries: CatalogQueries, rules: readonly CodexRule[]): Promise<{ text: string; detection: Detection; facts: CatalogFacts | undefined }> {
  const detection = detectRepo(repo);
  const facts = detection.catalog ? await catalogFacts(queries, detection.catalog) : undefined;
  const { text } = renderAgentsMd(name, detection, facts, rulesForFiles(rules, repo.files));
  return { text, detection, facts };
}

/** One step of the generate job: detect, look up the catalog, render, write when the bytes differ. */
export function generateStep(access: RepoAccess, queries: CatalogQueries, rules: readonly CodexRule[], publish?: PullRequestPublisher): StepHandler<GenerateStepInput, GenerateStepResult> {
  return async (input) => {
    const repo = await access.snapshot(input.path);
    const { text, facts } = await planAgentsMd(repo, access.name(input.path), queries, rules);
    if (publish) {
      // The PR call is idempotent itself (it looks before every write), so a retried step never opens a second PR.
      const pr = await publish(input.path, text);
      const result: GenerateStepResult = { path: input.path, lines: text.split("\n").length - 1, written: pr.action !== "unchanged", pr };
      if (facts) result.ref = facts.ref;
      return { result };
    }
    const written = repo.read("AGENTS.md") !== text;
    if (written) await access.writeAgentsMd(input.path, text);
    const result: GenerateStepResult = { path: input.path, lines: text.split("\n").length - 1, written };
    if (facts) result.ref = facts.ref;
    return { result };
  };
}
