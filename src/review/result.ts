import type { DroppedFinding, Verdict } from "./judge.ts";
import type { ModelAttempt, ModelUsage } from "./model/router.ts";
import type { BreakGlass, PriorFinding, ReviewedFinding } from "./rereview.ts";
import type { SkipReason } from "./intake.ts";
import type { TierDecision } from "./tier.ts";
import type { TokenUsage } from "../usage/types.ts";

export interface ReviewerReport {
  reviewer: string;
  models: string[];
  findings: number;
  invalidFindings: number;
  toolCalls: number;
}

/**
 * Everything one completed review run decided; rendered as Markdown, JSON or SARIF, or posted.
 * Only a run in which every reviewer answered produces one (see ReviewNotPerformedError).
 */
export interface ReviewResult {
  baseSha: string;
  headSha: string;
  tier: TierDecision;
  reviewedFiles: string[];
  /** new path → old path for renamed files (GitLab positions need both). */
  renamedFrom: Record<string, string>;
  skippedFiles: Array<{ path: string; reason: SkipReason }>;
  codexRules: string[];
  reviewers: ReviewerReport[];
  findings: ReviewedFinding[];
  dropped: Array<{ path: string; line: number; title: string; reviewers: string[]; reason: string; detail: string }>;
  fixed: PriorFinding[];
  verdict: Verdict;
  breakGlass: BreakGlass | undefined;
  coordinator: { model: string | undefined; summary: string; regraded: number } | undefined;
  usage: { byModel: ModelUsage[]; total: TokenUsage; costUsd: number | undefined };
  attempts: ModelAttempt[];
  durationMs: number;
}

export function droppedSummary(dropped: readonly DroppedFinding[]): ReviewResult["dropped"] {
  return dropped.map((d) => ({ path: d.finding.path, line: d.finding.line, title: d.finding.title, reviewers: d.finding.reviewers, reason: d.reason, detail: d.detail }));
}
