export { GitHubPlatform, type GitHubOptions } from "./github.ts";
export { GitLabPlatform, type GitLabOptions } from "./gitlab.ts";
export { PlatformError, type ReviewPlatform, type PublishOutcome } from "./types.ts";
