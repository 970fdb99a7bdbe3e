/** The CI code reviewer: public face for the CLI and other capabilities. */
export { runReview, type ReviewInput, type Pricer } from "./run.ts";
export { reviewConfigSchema, parseReviewConfig, type ReviewConfig, type ReviewerName } from "./config.ts";
export type { ReviewResult } from "./result.ts";
export { ReviewNotPerformedError } from "./failure.ts";
export type { GitPort } from "./git.ts";
export { renderReview, renderMarkdown, renderSarif, renderNotPerformed, renderNotPerformedMarkdown, type OutputFormat } from "./render/index.ts";
export { GatewayTransport } from "./model/gateway.ts";
export { CircuitBreakers } from "./model/breaker.ts";
export { ModelRouter } from "./model/router.ts";
export { GitHubPlatform, GitLabPlatform, PlatformError, type ReviewPlatform, type PublishOutcome } from "./platforms/index.ts";
export { catalogPricer } from "./pricing.ts";
export { parseGoldenFile, findingsFileSchema, runEval, renderEvalReport, modelJudge, scoreCase, metrics, type CaseReviewer, type Progress, type ReportedFinding, type EvalReport } from "./eval/index.ts";
export { findingSchema, type Finding } from "./finding.ts";
