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
    const answer = /^\W*(yes|no)\b/i.exec(result.text.trim())?.[1]?.toLowerCase();
    // Anything but yes/no is an unreadable verdict; counting it as "no" would score a judge outage as misses.
    if (answer === undefined) throw new Error(`${result.ref} answered neither "yes" nor "no": ${JSON.stringify(result.text.slice(0, 120))}`);
    return answer === "yes";
  };
}
