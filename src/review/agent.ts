import type { CodexRule } from "../codex/index.ts";
import { parseReviewerReply, type CandidateFinding, type ParsedReply } from "./finding.ts";
import type { ModelRouter } from "./model/router.ts";
import type { ChatMessage } from "./model/types.ts";
import { specialistSystemPrompt } from "./prompt.ts";
import type { HeadSource } from "./source.ts";
import type { Specialist } from "./specialists.ts";
import { reviewTools, runTool } from "./tools.ts";

export interface SpecialistOutcome {
  reviewer: string;
  findings: CandidateFinding[];
  /** Findings in the reply that did not match the schema. */
  invalidFindings: number;
  toolCalls: number;
  models: string[];
  /** Set when the reviewer gave no usable answer; the run then fails (see run.ts), never approves. */
  error: string | undefined;
}

export interface SpecialistRun {
  specialist: Specialist;
  chain: readonly string[];
  userPrompt: string;
  rules: readonly CodexRule[];
  router: ModelRouter;
  source: HeadSource;
  maxToolSteps: number;
  maxTokens: number;
}

const answerNow = 'Your tool budget is spent. Answer now with ONLY the JSON object {"findings": [...]}.';
const repairAsk = 'Your last reply was not a JSON object with a "findings" array of findings in the given schema. Answer again with ONLY that JSON object, no prose.';

/**
 * Why a parsed reply cannot stand as the reviewer's answer. A reply whose every finding is
 * malformed is as unreadable as prose: taking it as "no findings" would approve unseen problems.
 */
function replyProblem(reply: ParsedReply): string | undefined {
  if (reply.error !== undefined) return reply.error;
  if (reply.findings.length === 0 && reply.invalid > 0) return `none of the ${reply.invalid} finding(s) in the reply matched the finding schema`;
  return undefined;
}

/** One specialist's agent loop: tool calls against the head commit, then one structured answer. */
export async function runSpecialist(run: SpecialistRun): Promise<SpecialistOutcome> {
  const system = specialistSystemPrompt(run.specialist, run.rules);
  const tools = reviewTools();
  const messages: ChatMessage[] = [{ role: "user", text: run.userPrompt }];
  const outcome: SpecialistOutcome = { reviewer: run.specialist.name, findings: [], invalidFindings: 0, toolCalls: 0, models: [], error: undefined };
  let steps = 0;
  let repaired = false;
  // Hard cap on rounds so a model that never stops calling tools cannot loop forever.
  for (let round = 0; round < run.maxToolSteps + 3; round += 1) {
    const result = await run.router.chat(run.chain, { system, messages, tools, maxTokens: run.maxTokens });
    if (!outcome.models.includes(result.ref)) outcome.models.push(result.ref);
    messages.push({ role: "assistant", text: result.text, toolCalls: result.toolCalls });
    if (result.toolCalls.length > 0 && steps < run.maxToolSteps) {
      steps += 1;
      outcome.toolCalls += result.toolCalls.length;
      const results = await Promise.all(result.toolCalls.map((call) => runTool(call, run.source)));
      messages.push({ role: "tool", results });
      if (steps === run.maxToolSteps) messages.push({ role: "user", text: answerNow });
      continue;
    }
    if (result.toolCalls.length > 0) {
      // Over budget and still calling tools: answer each call so the conversation stays valid, then insist.
      messages.push({ role: "tool", results: result.toolCalls.map((c) => ({ id: c.id, content: "tool budget spent", isError: true })) });
      messages.push({ role: "user", text: answerNow });
      continue;
    }
    const reply = parseReviewerReply(result.text);
    const problem = replyProblem(reply);
    if (problem !== undefined && !repaired) {
      repaired = true;
      messages.push({ role: "user", text: repairAsk });
      continue;
    }
    outcome.error = problem === undefined ? undefined : `gave no usable answer after a repair turn: ${problem}`;
    outcome.invalidFindings = reply.invalid;
    outcome.findings = reply.findings.map((f) => ({ ...f, reviewers: [run.specialist.name] }));
    return outcome;
  }
  outcome.error = "did not produce an answer within its round limit";
  return outcome;
}
