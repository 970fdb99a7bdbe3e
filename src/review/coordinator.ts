import { z } from "zod";
import { severitySchema } from "../codex/index.ts";
import type { JudgedFinding } from "./judge.ts";
import type { ModelRouter } from "./model/router.ts";

const gradeSchema = z.object({
  id: z.string(),
  action: z.enum(["keep", "drop"]),
  severity: severitySchema.optional(),
  reason: z.string().optional(),
});
const coordinatorReplySchema = z.object({ summary: z.string().default(""), findings: z.array(gradeSchema).default([]) });

export interface CoordinatorOutcome {
  kept: JudgedFinding[];
  dropped: Array<{ finding: JudgedFinding; reason: string }>;
  regraded: number;
  summary: string;
  model: string | undefined;
  error: string | undefined;
}

const system = `Reviewer: coordinator
You are the coordinator of a multi-agent code review. Specialists reported the findings below; each was already checked to exist in the source.
Your job: drop false positives and nitpicks, and re-grade severity. You cannot add findings.
Be biased toward approval: critical only for exploitable or production-breaking problems; few, right findings beat many.
Answer with ONLY a JSON object: {"summary": "<two sentences for the author>", "findings": [{"id": "<id>", "action": "keep"|"drop", "severity": "critical"|"warning"|"suggestion", "reason": "<short>"}]}`;

/**
 * Optional re-grading pass by a strong model. Ids it does not mention are kept as they are.
 * When it fails, `error` says why and the run fails (run.ts): it may have raised a severity.
 */
export async function coordinate(findings: readonly JudgedFinding[], changeSummary: string, router: ModelRouter, chain: readonly string[], maxTokens: number): Promise<CoordinatorOutcome> {
  const outcome: CoordinatorOutcome = { kept: [...findings], dropped: [], regraded: 0, summary: "", model: undefined, error: undefined };
  const listed = findings.map((f, i) => ({ id: `F${i + 1}`, severity: f.severity, path: f.path, line: f.line, rule: f.rule, title: f.title, evidence: f.evidence, suggestion: f.suggestion, reviewers: f.reviewers }));
  const user = `${changeSummary}\n\n## Findings\n${JSON.stringify(listed, null, 2)}`;
  let text: string;
  try {
    const result = await router.chat(chain, { system, messages: [{ role: "user", text: user }], tools: [], maxTokens });
    outcome.model = result.ref;
    text = result.text;
  } catch (err) {
    outcome.error = err instanceof Error ? err.message : String(err);
    return outcome;
  }
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  let parsed: z.infer<typeof coordinatorReplySchema> | undefined;
  if (start >= 0 && end > start) {
    try {
      const result = coordinatorReplySchema.safeParse(JSON.parse(text.slice(start, end + 1)));
      if (result.success) parsed = result.data;
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
    }
  }
  if (!parsed) {
    outcome.error = "its reply was not the JSON object asked for";
    return outcome;
  }
  outcome.summary = parsed.summary;
  const grades = new Map(parsed.findings.map((g) => [g.id, g]));
  outcome.kept = [];
  listed.forEach((entry, i) => {
    const finding = findings[i];
    if (!finding) return;
    const grade = grades.get(entry.id);
    if (grade?.action === "drop") {
      outcome.dropped.push({ finding, reason: grade.reason ?? "dropped by the coordinator" });
      return;
    }
    if (grade?.severity && grade.severity !== finding.severity) {
      outcome.regraded += 1;
      outcome.kept.push({ ...finding, severity: grade.severity });
    } else outcome.kept.push(finding);
  });
  return outcome;
}
