import type { Severity } from "../codex/index.ts";
import { severityRank } from "./finding.ts";
import { sameIssue, type JudgedFinding } from "./judge.ts";

/** A finding Gatehouse posted on an earlier push, read back from the platform. */
export interface PriorFinding {
  fingerprint: string;
  path: string;
  line: number;
  title: string;
  severity: Severity;
  rule: string | undefined;
  evidence: string;
  /** Platform id of the thread/comment to reply to or resolve. */
  threadId: string;
  /** A human resolved the thread. */
  resolved: boolean;
  /** A human answered "won't fix" / "acknowledged" / "by design". */
  wontFix: boolean;
  /** Gatehouse itself closed it as fixed on an earlier push; seen again, it is a regression. */
  fixedEarlier: boolean;
}

export interface BreakGlass {
  by: string;
  at: string;
  text: string;
}

export interface PriorState {
  findings: PriorFinding[];
  breakGlass: BreakGlass | undefined;
}

export const emptyPriorState = (): PriorState => ({ findings: [], breakGlass: undefined });

export type FindingStatus = "new" | "still-open" | "reopened" | "respected";

export interface ReviewedFinding extends JudgedFinding {
  status: FindingStatus;
  prior: PriorFinding | undefined;
}

export interface Reconciled {
  findings: ReviewedFinding[];
  /** Earlier findings no longer reported: the push fixed them; their threads get resolved. */
  fixed: PriorFinding[];
}

export const wontFixPattern = /\b(won'?t fix|wontfix|will not fix|acknowledged|by design|working as intended|intentional)\b/i;
export const breakGlassPattern = /\bbreak[- ]glass\b/i;

/**
 * Matches this push's findings to the earlier ones. Fixed → resolved; unfixed → kept open
 * (no second inline comment); resolved or "won't fix" by a human → respected, unless the
 * finding got worse.
 */
export function reconcile(current: readonly JudgedFinding[], prior: PriorState): Reconciled {
  const matched = new Set<PriorFinding>();
  // Open threads first: a finding that is both open and was fixed once belongs to the open thread.
  const candidates = [...prior.findings].sort((a, b) => Number(a.fixedEarlier) - Number(b.fixedEarlier));
  const findings: ReviewedFinding[] = current.map((finding) => {
    const earlier = candidates.find((p) => !matched.has(p) && (p.fingerprint === finding.fingerprint || sameIssue(p, finding)));
    if (!earlier) return { ...finding, status: "new", prior: undefined };
    matched.add(earlier);
    if (earlier.fixedEarlier) return { ...finding, status: "new", prior: earlier };
    if (earlier.resolved || earlier.wontFix) {
      const worse = severityRank[finding.severity] > severityRank[earlier.severity];
      return { ...finding, status: worse ? "reopened" : "respected", prior: earlier };
    }
    return { ...finding, status: "still-open", prior: earlier };
  });
  const fixed = prior.findings.filter((p) => !matched.has(p) && !p.resolved && !p.wontFix && !p.fixedEarlier);
  return { findings, fixed };
}

/** The findings that count toward the verdict: respected ones were settled by a human. */
export function activeFindings(findings: readonly ReviewedFinding[]): ReviewedFinding[] {
  return findings.filter((f) => f.status !== "respected");
}
