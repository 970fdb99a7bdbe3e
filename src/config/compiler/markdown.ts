import type { z } from "zod";
import type { ConfigIssue } from "./issues.ts";
import { parseYamlSource, zodIssues } from "./yaml-source.ts";

export interface MarkdownEntry<T> {
  name: string;
  value: T | undefined;
  issues: ConfigIssue[];
  /** Where a frontmatter field is written in the file (for problems found later, e.g. an unserved model). */
  locate?: (path: readonly PropertyKey[]) => { line: number; column: number };
}

const FENCE = /^---\s*$/;

/**
 * One agent or command file: YAML frontmatter between `---` lines (OpenCode's own keys),
 * the body is the prompt or template. The name is the path under agents/ or commands/
 * without `.md` (nested folders give `group/name`, as in OpenCode).
 */
export function compileMarkdown<S extends z.ZodType>(file: string, name: string, text: string, schema: S, bodyKey: "prompt" | "template"): MarkdownEntry<z.infer<S>> {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  let frontmatter = "";
  let bodyStart = 0;
  if (lines[0] !== undefined && FENCE.test(lines[0])) {
    const end = lines.findIndex((line, i) => i > 0 && FENCE.test(line));
    if (end === -1) return { name, value: undefined, issues: [{ file, line: 1, column: 1, field: "", message: "frontmatter starts with --- but never ends with ---" }] };
    frontmatter = lines.slice(1, end).join("\n");
    bodyStart = end + 1;
  }
  const body = lines.slice(bodyStart).join("\n").trim();
  const source = parseYamlSource(file, frontmatter, 1);
  if (source.issues.length) return { name, value: undefined, issues: source.issues };
  const meta = source.value ?? {};
  if (typeof meta !== "object" || Array.isArray(meta)) return { name, value: undefined, issues: [{ file, line: 2, column: 1, field: "", message: "frontmatter must be a YAML mapping" }] };
  if (bodyKey in meta) {
    return { name, value: undefined, issues: [{ file, ...source.locateKey([], bodyKey), field: bodyKey, message: `write the ${bodyKey} as the markdown body, not in the frontmatter` }] };
  }
  const candidate = body ? { ...meta, [bodyKey]: body } : meta;
  const parsed = schema.safeParse(candidate);
  if (!parsed.success) {
    const issues = zodIssues(file, source, parsed.error, schema).map((issue) => (issue.field === bodyKey ? { ...issue, line: bodyStart + 1, message: `the markdown body (${bodyKey}) ${issue.message.toLowerCase()}` } : issue));
    return { name, value: undefined, issues };
  }
  return { name, value: parsed.data, issues: [], locate: source.locate };
}
