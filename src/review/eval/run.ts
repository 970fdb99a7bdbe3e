import type { GoldenCase, ReportedFinding } from "./dataset.ts";
import { metrics, scoreCase, type CaseScore, type Metrics, type SameIssueJudge } from "./score.ts";

export interface Progress {
  start(total: number): void;
  tick(label: string): void;
  done(): void;
}

export const silentProgress: Progress = { start: () => undefined, tick: () => undefined, done: () => undefined };

export interface EvalReport {
  /** False when any case errored or was skipped: then there is no score, only the reasons. */
  complete: boolean;
  cases: CaseScore[];
  skipped: Array<{ id: string; reason: string }>;
  errored: Array<{ id: string; error: string }>;
  /** Micro-averaged over all cases; null when the run is incomplete (a partial score would mislead). */
  overall: Metrics | null;
}

/** Reviews each case, or says why it cannot (undefined = skip with reason), then scores. */
export type CaseReviewer = (c: GoldenCase) => Promise<{ findings: ReportedFinding[] } | { skip: string }>;

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Reviews and scores every case. A case whose review or judging fails is recorded as errored,
 * not scored as "all missed": a gateway outage must not read as a reviewer that finds nothing.
 */
export async function runEval(cases: readonly GoldenCase[], review: CaseReviewer, options: { judge?: SameIssueJudge | undefined; progress?: Progress | undefined } = {}): Promise<EvalReport> {
  const progress = options.progress ?? silentProgress;
  const scores: CaseScore[] = [];
  const skipped: EvalReport["skipped"] = [];
  const errored: EvalReport["errored"] = [];
  progress.start(cases.length);
  for (const c of cases) {
    let outcome: Awaited<ReturnType<CaseReviewer>>;
    try {
      outcome = await review(c);
    } catch (err) {
      // One broken case must not stop the others from being tried; it makes the run incomplete.
      errored.push({ id: c.id, error: message(err) });
      progress.tick(`${c.id} (error)`);
      continue;
    }
    if ("skip" in outcome) {
      skipped.push({ id: c.id, reason: outcome.skip });
      progress.tick(`${c.id} (skipped)`);
      continue;
    }
    try {
      scores.push(await scoreCase(c.id, c.comments, outcome.findings, options.judge));
    } catch (err) {
      errored.push({ id: c.id, error: `the eval judge failed: ${message(err)}` });
      progress.tick(`${c.id} (error)`);
      continue;
    }
    progress.tick(c.id);
  }
  progress.done();
  const complete = errored.length === 0 && skipped.length === 0 && cases.length > 0;
  return { complete, cases: scores, skipped, errored, overall: complete ? metrics(scores) : null };
}

export function renderEvalReport(report: EvalReport): string {
  if (!report.complete || report.overall === null) {
    const total = report.cases.length + report.skipped.length + report.errored.length;
    const lines = [`review eval failed: ${report.errored.length + report.skipped.length} of ${total} case(s) could not be reviewed and scored, so there is no score.`];
    if (total === 0) lines.push("The dataset has no cases.");
    for (const e of report.errored) lines.push(`- ${e.id}: ${e.error}`);
    for (const s of report.skipped) lines.push(`- ${s.id}: skipped: ${s.reason}`);
    return `${lines.join("\n")}\n`;
  }
  const pct = (n: number) => `${(n * 100).toFixed(1)}%`;
  const lines = ["| case | TP | FP | FN | precision | recall | F1 |", "|---|---|---|---|---|---|---|"];
  for (const c of report.cases) {
    const m = metrics([c]);
    lines.push(`| ${c.id} | ${c.truePositives} | ${c.falsePositives} | ${c.falseNegatives} | ${pct(m.precision)} | ${pct(m.recall)} | ${pct(m.f1)} |`);
  }
  const o = report.overall;
  lines.push(`| **all** | ${o.truePositives} | ${o.falsePositives} | ${o.falseNegatives} | **${pct(o.precision)}** | **${pct(o.recall)}** | **${pct(o.f1)}** |`);
  return `${lines.join("\n")}\n`;
}
