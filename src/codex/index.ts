export { ruleFrontmatterSchema, severitySchema, ruleIdSchema, type CodexRule, type Severity } from "./schema.ts";
export { formatRuleProblem, parseRuleFile, type RuleProblem } from "./parse.ts";
export { lintRules, loadRules, type RuleFileText, type CodexLintResult } from "./lint.ts";
export { rulesForFiles, ruleApplies } from "./select.ts";
export { languageOf } from "./languages.ts";
