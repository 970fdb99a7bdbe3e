import picomatch from "picomatch";
import { languageOf } from "./languages.ts";
import type { CodexRule } from "./schema.ts";

function matcher(globs: string[]): (path: string) => boolean {
  if (globs.length === 0) return () => false;
  return picomatch(globs, { dot: true });
}

/** Whether a rule covers a path: language and path globs match and no exception glob does. */
export function ruleApplies(rule: CodexRule, path: string): boolean {
  const language = languageOf(path);
  if (rule.languages.length > 0 && (language === undefined || !rule.languages.includes(language))) return false;
  if (rule.paths.length > 0 && !matcher(rule.paths)(path)) return false;
  // Exceptions may be prose ("generated code"); only glob-looking ones are matched here,
  // the rest go to the reviewer in the rule text.
  const globExceptions = rule.exceptions.filter((e) => /[*/]/.test(e) && !/\s/.test(e));
  return !matcher(globExceptions)(path);
}

/**
 * The rules that apply to at least one changed file, sorted by id so the Codex reviewer's
 * prompt is stable (prompt caching, reproducible reviews).
 */
export function rulesForFiles(rules: readonly CodexRule[], paths: readonly string[]): CodexRule[] {
  return rules.filter((rule) => paths.some((path) => ruleApplies(rule, path))).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
