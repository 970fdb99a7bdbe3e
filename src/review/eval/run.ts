import type { GoldenCase, ReportedFinding } from "./dataset.ts";
import { metrics, scoreCase, type CaseScore, type Metrics, type SameIssueJudge } from "./score.ts";

export interface Progress {
  start(total: number): void;
  tick(label: string): void;
  done(): void;
}

export const silentProgress: Progress = { start: () => undefined, tick: () => undefined, done: () => undefined };

export interface EvalReport {
  cases: CaseScore[];
  skipped: Array<{ id: string; reason: string }>;
  overall: Metrics;
}

/** Reviews each case, or says why it cannot (undefined = skip with reason), then scores. */
export type CaseReviewer = (c: GoldenCase) => Promise<{ findings: ReportedFinding[] } | { skip: string }>;

export async function runEval(cases: readonly GoldenCase[], review: CaseReviewer, options: { judge?: SameIssueJudge | undefined; progress?: Progress | undefined } = {}): Promise<EvalReport> {
  const progress = options.progress ?? silentProgress;
  const scores: CaseScore[] = [];
  const skipped: EvalReport["skipped"] = [];
  progress.start(cases.length);
  for (const c of cases) {
    let outcome: Awaited<ReturnType<CaseReviewer>>;
    try {
      outcome = await review(c);
    } catch (err) {
      // One broken case must not lose the others; it counts as all-missed.
      const score = await scoreCase(c.id, c.comments, [], options.judge);
      score.error = err instanceof Error ? err.message : String(err);
      scores.push(score);
      progress.tick(`${c.id} (error)`);
      continue;
    }
    if ("skip" in outcome) skipped.push({ id: c.id, reason: outcome.skip });
    else scores.push(await scoreCase(c.id, c.comments, outcome.findings, options.judge));
    progress.tick(c.id);
  }
  progress.done();
  return { cases: scores, skipped, overall: metrics(scores) };
}

export function renderEvalReport(report: EvalReport): string {
  const pct = (n: number) => `${(n * 100).toFixed(1)}%`;
  const lines = ["| case | TP | FP | FN | precision | recall | F1 |", "|---|---|---|---|---|---|---|"];
  for (const c of report.cases) {
    const m = metrics([c]);
    lines.push(`| ${c.id}${c.error ? " (error)" : ""} | ${c.truePositives} | ${c.falsePositives} | ${c.falseNegatives} | ${pct(m.precision)} | ${pct(m.recall)} | ${pct(m.f1)} |`);
  }
  const o = report.overall;
  lines.push(`| **all** | ${o.truePositives} | ${o.falsePositives} | ${o.falseNegatives} | **${pct(o.precision)}** | **${pct(o.recall)}** | **${pct(o.f1)}** |`);
  for (const s of report.skipped) lines.push(`\nskipped ${s.id}: ${s.reason}`);
  for (const c of report.cases) if (c.error) lines.push(`\n${c.id} failed: ${c.error}`);
  return `${lines.join("\n")}\n`;
}
