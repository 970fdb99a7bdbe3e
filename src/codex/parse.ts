import { explainIssue } from "../config/compiler/hints.ts";
import { parseYamlSource } from "../config/compiler/yaml-source.ts";
import { ruleFrontmatterSchema, type CodexRule } from "./schema.ts";

export interface RuleProblem {
  source: string;
  /** 1-based line in the rule file the problem is at (1 for the file as a whole). */
  line: number;
  message: string;
}

/** `file:line: message`, the form editors and CI logs link. */
export function formatRuleProblem(problem: RuleProblem): string {
  return `${problem.source}:${problem.line}: ${problem.message}`;
}

/** A parsed rule, with the lines lint needs for problems found across files (a duplicate id, identical examples). */
export type ParsedRule = { ok: true; rule: CodexRule; lines: { id: number; good: number } } | { ok: false; problems: RuleProblem[] };

const frontmatterPattern = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/;

/** The first fenced code block under a `## <heading>` section, and the heading's line in the body (0-based), or undefined. */
function exampleUnder(body: string, heading: string): { code: string | undefined; line: number } | undefined {
  const lines = body.split(/\r?\n/);
  const start = lines.findIndex(
    (l) =>
      /^##\s+/.test(l) &&
      l
        .replace(/^##\s+/, "")
        .trim()
        .toLowerCase() === heading,
  );
  if (start < 0) return undefined;
  const end = lines.findIndex((l, i) => i > start && /^##\s+/.test(l));
  const section = lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
  const fence = /```[^\n]*\n([\s\S]*?)```/.exec(section);
  return { code: fence?.[1]?.replace(/\n$/, ""), line: start };
}

/** Parses one rule file (YAML frontmatter + Markdown body with `## Bad` and `## Good` examples). */
export function parseRuleFile(source: string, text: string): ParsedRule {
  const match = frontmatterPattern.exec(text);
  if (!match) return { ok: false, problems: [{ source, line: 1, message: "missing YAML frontmatter (the file must start with ---)" }] };
  const frontmatter = match[1] ?? "";
  // Frontmatter starts on line 2; the body right after the closing --- line.
  const bodyLine = frontmatter.split(/\r?\n/).length + 3;
  const yaml = parseYamlSource(source, frontmatter, 1);
  if (yaml.issues.length > 0) return { ok: false, problems: yaml.issues.map((i) => ({ source, line: i.line, message: `invalid YAML frontmatter: ${i.message.replace(/^invalid YAML: /, "")}` })) };
  const problems: RuleProblem[] = [];
  const parsed = ruleFrontmatterSchema.safeParse(yaml.value ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
      const at = keys.length > 0 ? yaml.locateKey(issue.path, keys[0] as string) : yaml.locate(issue.path);
      const field = [...issue.path, ...(keys.length === 1 ? keys : [])].map(String).join(".") || "(frontmatter)";
      problems.push({ source, line: at.line, message: `${field}: ${explainIssue(ruleFrontmatterSchema, issue)}` });
    }
  }
  const body = match[2] ?? "";
  const bodyLines = body.split(/\r?\n/).length;
  const bad = exampleUnder(body, "bad");
  const good = exampleUnder(body, "good");
  if (bad?.code === undefined) problems.push({ source, line: bad ? bodyLine + bad.line : bodyLine + bodyLines - 1, message: bad ? "the `## Bad` section has no fenced code example" : "missing a `## Bad` section with a fenced code example" });
  if (good?.code === undefined) problems.push({ source, line: good ? bodyLine + good.line : bodyLine + bodyLines - 1, message: good ? "the `## Good` section has no fenced code example" : "missing a `## Good` section with a fenced code example" });
  if (!parsed.success || bad?.code === undefined || good?.code === undefined) return { ok: false, problems };
  const explanation = body.split(/^##\s+(?:bad|good)\s*$/im)[0]?.trim() ?? "";
  return { ok: true, rule: { ...parsed.data, body: explanation, bad: bad.code, good: good.code, source }, lines: { id: yaml.locate(["id"]).line, good: bodyLine + good.line } };
}
