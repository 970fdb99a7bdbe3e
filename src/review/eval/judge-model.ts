import type { ModelRouter } from "../model/router.ts";
import type { GoldenComment, ReportedFinding } from "./dataset.ts";
import type { SameIssueJudge } from "./score.ts";

const system = `Reviewer: eval-judge
You compare a code review finding with a known issue (a golden review comment) on the same pull request.
Answer "yes" if both describe the same underlying problem (wording may differ), otherwise "no". Answer with one word.`;

/** An LLM judge for "same underlying issue?", as Martian's benchmark uses. */
export function modelJudge(router: ModelRouter, chain: readonly string[]): SameIssueJudge {
  return async (golden: GoldenComment, finding: ReportedFinding) => {
    const user = `Known issue${golden.path ? ` in ${golden.path}${golden.line ? `:${golden.line}` : ""}` : ""}:\n${golden.body}\n\nFinding at ${finding.path}:${finding.line}:\n${finding.title}\n${finding.suggestion}\nEvidence:\n${finding.evidence}`;
    const result = await router.chat(chain, { system, messages: [{ role: "user", text: user }], tools: [], maxTokens: 16 });
    return /^\W*yes\b/i.test(result.text.trim());
  };
}
