import { parse as parseYaml } from "yaml";
import { ruleFrontmatterSchema, type CodexRule } from "./schema.ts";

export interface RuleProblem {
  source: string;
  message: string;
}

export type ParsedRule = { ok: true; rule: CodexRule } | { ok: false; problems: RuleProblem[] };

const frontmatterPattern = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/;

/** The first fenced code block under a `## <heading>` section, or undefined. */
function exampleUnder(body: string, heading: string): string | undefined {
  const sections = body.split(/^##\s+/m);
  for (const section of sections) {
    const newline = section.indexOf("\n");
    const title = (newline < 0 ? section : section.slice(0, newline)).trim().toLowerCase();
    if (title !== heading) continue;
    const fence = /```[^\n]*\n([\s\S]*?)```/.exec(section);
    return fence?.[1]?.replace(/\n$/, "");
  }
  return undefined;
}

/** Parses one rule file (YAML frontmatter + Markdown body with `## Bad` and `## Good` examples). */
export function parseRuleFile(source: string, text: string): ParsedRule {
  const match = frontmatterPattern.exec(text);
  if (!match) return { ok: false, problems: [{ source, message: "missing YAML frontmatter (the file must start with ---)" }] };
  let raw: unknown;
  try {
    raw = parseYaml(match[1] ?? "");
  } catch (err) {
    return { ok: false, problems: [{ source, message: `invalid YAML frontmatter: ${err instanceof Error ? err.message : String(err)}` }] };
  }
  const problems: RuleProblem[] = [];
  const parsed = ruleFrontmatterSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push({ source, message: `${issue.path.join(".") || "(frontmatter)"}: ${issue.message}` });
  }
  const body = match[2] ?? "";
  const bad = exampleUnder(body, "bad");
  const good = exampleUnder(body, "good");
  if (bad === undefined) problems.push({ source, message: "missing a `## Bad` section with a fenced code example" });
  if (good === undefined) problems.push({ source, message: "missing a `## Good` section with a fenced code example" });
  if (!parsed.success || bad === undefined || good === undefined) return { ok: false, problems };
  const explanation = body.split(/^##\s+(?:bad|good)\s*$/im)[0]?.trim() ?? "";
  return { ok: true, rule: { ...parsed.data, body: explanation, bad, good, source } };
}
