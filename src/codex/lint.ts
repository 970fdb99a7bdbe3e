import { formatRuleProblem, parseRuleFile, type RuleProblem } from "./parse.ts";
import type { CodexRule } from "./schema.ts";

export interface RuleFileText {
  source: string;
  text: string;
}

export interface CodexLintResult {
  rules: CodexRule[];
  problems: RuleProblem[];
}

/** Parses every rule file and reports all problems at once (not just the first), incl. duplicate ids. */
export function lintRules(files: readonly RuleFileText[]): CodexLintResult {
  const rules: CodexRule[] = [];
  const problems: RuleProblem[] = [];
  const firstSourceById = new Map<string, string>();
  for (const file of files) {
    const parsed = parseRuleFile(file.source, file.text);
    if (!parsed.ok) {
      problems.push(...parsed.problems);
      continue;
    }
    const previous = firstSourceById.get(parsed.rule.id);
    if (previous !== undefined) {
      problems.push({ source: file.source, line: parsed.lines.id, message: `duplicate rule id "${parsed.rule.id}" (also in ${previous}); give one of them another id` });
      continue;
    }
    if (parsed.rule.bad.trim() === parsed.rule.good.trim()) problems.push({ source: file.source, line: parsed.lines.good, message: "the Bad and Good examples are identical; the Good one should show the fix" });
    firstSourceById.set(parsed.rule.id, file.source);
    rules.push(parsed.rule);
  }
  rules.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { rules, problems };
}

/** Loads rules, failing with every problem listed when any file is invalid. */
export function loadRules(files: readonly RuleFileText[]): CodexRule[] {
  const { rules, problems } = lintRules(files);
  if (problems.length > 0) throw new Error(`Invalid Codex rules:\n${problems.map((p) => `  ${formatRuleProblem(p)}`).join("\n")}`);
  return rules;
}
