import { lineInHunks, type DiffFile } from "./diff.ts";
import { severityRank, type CandidateFinding } from "./finding.ts";
import { fingerprint, normalizeCode, similarity } from "./similarity.ts";
import type { HeadSource } from "./source.ts";

export type DropReason = "not-in-diff" | "unknown-file" | "line-out-of-range" | "evidence-not-found" | "uncited-rule" | "duplicate" | "coordinator" | "over-limit";

export interface JudgedFinding extends CandidateFinding {
  /** Stable across pushes (path + rule or title), used to recognise the finding on re-review. */
  fingerprint: string;
  /** Whether the line is inside a diff hunk, i.e. can carry an inline comment on GitHub/GitLab. */
  inline: boolean;
}

export interface DroppedFinding {
  finding: CandidateFinding;
  reason: DropReason;
  detail: string;
}

export interface JudgeInput {
  candidates: readonly CandidateFinding[];
  files: readonly DiffFile[];
  source: HeadSource;
  givenRuleIds: ReadonlySet<string>;
  maxFindings: number;
}

export interface JudgeResult {
  kept: JudgedFinding[];
  dropped: DroppedFinding[];
}

/** Lines around the cited line in which the evidence must appear. */
const evidenceWindow = 6;
/** How far outside a hunk a finding may point and still count as about this change. */
const hunkSlack = 5;
const dedupeLineDistance = 3;

function evidenceLines(evidence: string): string[] {
  return evidence
    .split("\n")
    .map((line) => normalizeCode(line.replace(/^[+-](?=\s)/, "")))
    .filter((line) => line.length >= 3 && line !== "..." && line !== "…");
}

/** The 1-based line where every evidence line is found nearby, preferring the cited line; undefined if not found. */
function locateEvidence(lines: readonly string[], cited: number, evidence: string): number | undefined {
  const wanted = evidenceLines(evidence);
  if (wanted.length === 0) return undefined;
  const from = Math.max(1, cited - evidenceWindow);
  const to = Math.min(lines.length, cited + evidenceWindow);
  const normalized = new Map<number, string>();
  for (let n = from; n <= to; n += 1) normalized.set(n, normalizeCode(lines[n - 1] ?? ""));
  const windowText = [...normalized.values()].join(" ");
  if (!wanted.every((w) => windowText.includes(w))) return undefined;
  const first = wanted[0] ?? "";
  if ((normalized.get(cited) ?? "").includes(first) || wanted.some((w) => (normalized.get(cited) ?? "").includes(w))) return cited;
  // Models are often off by a few lines; snap to the nearest line holding the evidence.
  let best: number | undefined;
  for (const [n, text] of normalized) if (text.includes(first) && (best === undefined || Math.abs(n - cited) < Math.abs(best - cited))) best = n;
  return best ?? cited;
}

/** Same underlying issue: same file and same rule, or similar titles, or the same evidence. */
export function sameIssue(a: Pick<CandidateFinding, "path" | "rule" | "title" | "evidence">, b: Pick<CandidateFinding, "path" | "rule" | "title" | "evidence">): boolean {
  if (a.path !== b.path) return false;
  if (a.rule !== undefined && a.rule === b.rule) return true;
  if (similarity(a.title, b.title) >= 0.4) return true;
  const ea = normalizeCode(a.evidence);
  return ea.length >= 10 && ea === normalizeCode(b.evidence);
}

export function findingFingerprint(f: Pick<CandidateFinding, "path" | "rule" | "title">): string {
  return fingerprint(`${f.path}\u0000${f.rule ?? [...new Set(f.title.toLowerCase().split(/\W+/))].sort().join(" ")}`);
}

function bySeverity(a: CandidateFinding, b: CandidateFinding): number {
  return severityRank[b.severity] - severityRank[a.severity] || b.reviewers.length - a.reviewers.length || a.path.localeCompare(b.path) || a.line - b.line;
}

/**
 * The deterministic judge: verifies every finding against the head commit, drops uncited
 * Codex findings, merges duplicates and keeps the most severe few.
 */
export async function judgeFindings(input: JudgeInput): Promise<JudgeResult> {
  const dropped: DroppedFinding[] = [];
  const verified: JudgedFinding[] = [];
  const filesByPath = new Map(input.files.map((f) => [f.path, f]));
  for (const candidate of input.candidates) {
    const drop = (reason: DropReason, detail: string): void => {
      dropped.push({ finding: candidate, reason, detail });
    };
    const citesCodex = candidate.reviewers.includes("codex");
    if (candidate.rule !== undefined && !input.givenRuleIds.has(candidate.rule)) {
      drop("uncited-rule", `rule "${candidate.rule}" was not among the rules given`);
      continue;
    }
    if (citesCodex && candidate.rule === undefined) {
      drop("uncited-rule", "a Codex finding must cite a rule id");
      continue;
    }
    const file = filesByPath.get(candidate.path);
    if (!file) {
      drop("not-in-diff", `${candidate.path} is not among the reviewed changed files`);
      continue;
    }
    const text = await input.source.read(candidate.path);
    if (text === undefined) {
      drop("unknown-file", `${candidate.path} does not exist at the head commit`);
      continue;
    }
    const lines = text.split("\n");
    if (candidate.line > lines.length) {
      drop("line-out-of-range", `line ${candidate.line} is past the end of ${candidate.path} (${lines.length} lines)`);
      continue;
    }
    if (!lineInHunks(file, candidate.line, hunkSlack)) {
      drop("not-in-diff", `line ${candidate.line} is not in or near a changed hunk`);
      continue;
    }
    const line = locateEvidence(lines, candidate.line, candidate.evidence);
    if (line === undefined) {
      drop("evidence-not-found", `the quoted evidence is not in ${candidate.path} around line ${candidate.line}`);
      continue;
    }
    verified.push({ ...candidate, line, fingerprint: findingFingerprint(candidate), inline: lineInHunks(file, line) });
  }
  verified.sort(bySeverity);
  const merged: JudgedFinding[] = [];
  for (const finding of verified) {
    const twin = merged.find((m) => Math.abs(m.line - finding.line) <= dedupeLineDistance && sameIssue(m, finding));
    if (twin) {
      for (const r of finding.reviewers) if (!twin.reviewers.includes(r)) twin.reviewers.push(r);
      twin.rule ??= finding.rule;
      dropped.push({ finding, reason: "duplicate", detail: `same issue as ${twin.reviewers[0] ?? "another reviewer"}'s finding at ${twin.path}:${twin.line}` });
      continue;
    }
    merged.push({ ...finding, reviewers: [...finding.reviewers] });
  }
  const kept = merged.slice(0, input.maxFindings);
  for (const finding of merged.slice(input.maxFindings)) dropped.push({ finding, reason: "over-limit", detail: `only the ${input.maxFindings} most severe findings are posted` });
  return { kept, dropped };
}

export type Verdict = "approved" | "approved_with_comments" | "requested_changes";

/** Biased to approval: only a surviving critical finding requests changes. */
export function verdictFor(findings: ReadonlyArray<Pick<CandidateFinding, "severity">>): Verdict {
  if (findings.some((f) => f.severity === "critical")) return "requested_changes";
  return findings.length > 0 ? "approved_with_comments" : "approved";
}
