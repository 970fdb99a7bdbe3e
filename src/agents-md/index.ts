/** AGENTS.md for every repository (docs/knowledge.md): detection, the catalog's facts, the Codex rules, a template; and its freshness check. */
export { detectRepo, type Detection, type CatalogInfo } from "./detect.ts";
export { catalogFacts, type CatalogFacts } from "./catalog.ts";
export { renderAgentsMd, readClaims, MAX_LINES, type Claims, type RenderOptions } from "./render.ts";
export { checkAgentsMd, type StaleClaim, type Materiality } from "./check.ts";
export { generateStep, planAgentsMd, GENERATE_JOB_KIND, TEMPLATE_WRITER, type RepoAccess, type GenerateStepInput, type GenerateStepResult, type AgentsMdPublisher } from "./generate.ts";
export { knownFacts, parseProse, prosePrompt, ProseCallError, PROSE_SECTIONS, MAX_PROSE_LINES, type Prose, type ProseWriter, type ProseRequest, type ProseAnswer, type ProseCost } from "./prose.ts";
export { GENERATED_DIR_NAMES, isGeneratedDir, type RepoSnapshot } from "./repo.ts";
export type { Component, RepoCommand, Stack } from "./stacks.ts";
export { upsertAgentsMdPullRequest, readAgentsMdOnBranch, AGENTS_MD_BRANCH, type GitHubRepoTarget, type PullRequestOutcome } from "./github-pr.ts";
export { staleClaimsInTree } from "./review-check.ts";
export { upsertAgentsMdMergeRequest, readAgentsMdOnGitLabBranch, type GitLabProjectTarget } from "./gitlab-mr.ts";
export { listGitHubOrg, listGitLabGroup, githubRepoAccess, gitlabRepoAccess, GITHUB_ITEM, GITLAB_ITEM, type RemoteHost } from "./remote.ts";
