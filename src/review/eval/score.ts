import { similarity } from "../similarity.ts";
import type { GoldenComment, ReportedFinding } from "./dataset.ts";

/** Decides whether a finding and a golden comment describe the same issue (an LLM judge in practice). */
export type SameIssueJudge = (golden: GoldenComment, finding: ReportedFinding) => Promise<boolean>;

export interface CaseScore {
  id: string;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  matches: Array<{ golden: string; finding: string }>;
  missed: string[];
  extra: string[];
}

export interface Metrics {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  precision: number;
  recall: number;
  f1: number;
}

/** Lines apart a finding may be from the golden comment and still be the same location. */
export const lineTolerance = 5;

function samePath(a: string, b: string): boolean {
  return a === b || a.endsWith(`/${b}`) || b.endsWith(`/${a}`);
}

function locationMatches(golden: GoldenComment, finding: ReportedFinding): boolean {
  if (golden.path !== undefined && !samePath(golden.path, finding.path)) return false;
  if (golden.line !== undefined && Math.abs(golden.line - finding.line) > lineTolerance) return false;
  return true;
}

/**
 * One-to-one matching of findings to golden comments. A pair matches on the same file within
 * a few lines; with a judge it must also be the same issue. Without a judge, a golden comment
 * that has no path falls back to word overlap.
 */
export async function scoreCase(id: string, golden: readonly GoldenComment[], findings: readonly ReportedFinding[], judge?: SameIssueJudge): Promise<CaseScore> {
  const used = new Set<number>();
  const score: CaseScore = { id, truePositives: 0, falsePositives: 0, falseNegatives: 0, matches: [], missed: [], extra: [] };
  for (const comment of golden) {
    const candidates = findings
      .map((finding, index) => ({ finding, index }))
      .filter(({ finding, index }) => !used.has(index) && locationMatches(comment, finding))
      .sort((a, b) => Math.abs((comment.line ?? 0) - a.finding.line) - Math.abs((comment.line ?? 0) - b.finding.line));
    let matched: number | undefined;
    for (const { finding, index } of candidates) {
      const text = `${finding.title} ${finding.suggestion} ${finding.evidence}`;
      const same = judge ? await judge(comment, finding) : comment.path !== undefined || similarity(text, comment.body) >= 0.15;
      if (same) {
        matched = index;
        break;
      }
    }
    if (matched === undefined) {
      score.falseNegatives += 1;
      score.missed.push(comment.body);
      continue;
    }
    used.add(matched);
    score.truePositives += 1;
    const finding = findings[matched];
    score.matches.push({ golden: comment.body, finding: `${finding?.path}:${finding?.line} ${finding?.title}` });
  }
  findings.forEach((f, i) => {
    if (!used.has(i)) {
      score.falsePositives += 1;
      score.extra.push(`${f.path}:${f.line} ${f.title}`);
    }
  });
  return score;
}

export function metrics(scores: readonly CaseScore[]): Metrics {
  const tp = scores.reduce((s, c) => s + c.truePositives, 0);
  const fp = scores.reduce((s, c) => s + c.falsePositives, 0);
  const fn = scores.reduce((s, c) => s + c.falseNegatives, 0);
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { truePositives: tp, falsePositives: fp, falseNegatives: fn, precision, recall, f1 };
}
