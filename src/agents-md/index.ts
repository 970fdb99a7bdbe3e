/** AGENTS.md for every repository (docs/knowledge.md): detection, the catalog's facts, the Codex rules, a template; and its freshness check. */
export { detectRepo, type Detection, type CatalogInfo } from "./detect.ts";
export { catalogFacts, type CatalogFacts } from "./catalog.ts";
export { renderAgentsMd, readClaims, MAX_LINES, type Claims } from "./render.ts";
export { checkAgentsMd, type StaleClaim, type Materiality } from "./check.ts";
export { generateStep, planAgentsMd, GENERATE_JOB_KIND, type RepoAccess, type GenerateStepInput, type GenerateStepResult, type PullRequestPublisher } from "./generate.ts";
export { GENERATED_DIR_NAMES, isGeneratedDir, type RepoSnapshot } from "./repo.ts";
export type { Component, RepoCommand, Stack } from "./stacks.ts";
export { upsertAgentsMdPullRequest, AGENTS_MD_BRANCH, type GitHubRepoTarget, type PullRequestOutcome } from "./github-pr.ts";
export { staleClaimsInTree } from "./review-check.ts";
