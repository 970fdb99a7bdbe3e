import type { CodexRule } from "../codex/index.ts";
import { filePatch, type DiffFile } from "./diff.ts";
import { replyJsonSchema } from "./finding.ts";
import type { Specialist } from "./specialists.ts";
import type { Tier } from "./tier.ts";

export interface ChangeContext {
  title: string;
  description: string;
  tier: Tier;
  files: DiffFile[];
  maxPatchChars: number;
  agentsMd: string | undefined;
  /** Claims of a generated AGENTS.md the reviewed commit no longer bears out (`gatehouse agents-md check`). */
  agentsMdStale?: string[];
}

function bullets(items: readonly string[]): string {
  return items.map((item) => `- ${item}`).join("\n");
}

function codexSection(rules: readonly CodexRule[]): string {
  const blocks = rules.map((r) =>
    [`### ${r.id} (default severity: ${r.severity})`, r.title, `Why: ${r.rfc}`, r.exceptions.length > 0 ? `Exceptions: ${r.exceptions.join("; ")}` : "", r.body, "Bad:\n```\n" + r.bad + "\n```", "Good:\n```\n" + r.good + "\n```"]
      .filter((s) => s !== "")
      .join("\n"),
  );
  return `\n\n## Engineering Codex rules that apply to this change\nCite a rule only by one of these ids: ${rules.map((r) => r.id).join(", ")}.\n\n${blocks.join("\n\n")}`;
}

/** The system prompt names the reviewer on its first line (the fake model in tests keys on it too). */
export function specialistSystemPrompt(specialist: Specialist, rules: readonly CodexRule[]): string {
  const body = `Reviewer: ${specialist.name}
You are one specialist in a multi-agent code review run by Gatehouse in CI. Your only focus: ${specialist.focus}.

## What to flag
${bullets(specialist.flag)}

## What NOT to flag
${bullets(specialist.doNotFlag)}

## How to work
- The diff is below. Use the tools (read_file, grep, list_files) on the checked-out change to verify a problem before you report it.
- \`line\` is the line number in the NEW version of the file; \`evidence\` is code copied verbatim from the file at or next to that line.
- Severity: critical = exploitable or will break production; warning = a real bug or risk to fix before merging; suggestion = optional improvement.
- Few, right findings beat many. If nothing is wrong, answer {"findings": []}.
- Finish with ONLY a JSON object matching this JSON Schema, no prose:
${JSON.stringify(replyJsonSchema())}`;
  return specialist.name === "codex" ? body + codexSection(rules) : body;
}

export function changeUserPrompt(context: ChangeContext, includeAgentsMd: boolean): string {
  const list = context.files.map((f) => `- ${f.path} (${f.status}, +${f.additions} -${f.deletions})`).join("\n");
  let budget = context.maxPatchChars;
  const patches: string[] = [];
  const omitted: string[] = [];
  for (const file of context.files) {
    const patch = filePatch(file);
    if (patch.length > budget) {
      omitted.push(file.path);
      continue;
    }
    budget -= patch.length;
    patches.push(patch);
  }
  const parts = [
    `# Change under review (tier: ${context.tier})`,
    `Title: ${context.title || "(none)"}`,
    context.description ? `Description:\n${context.description}` : "",
    `## Changed files\n${list}`,
    `## Diff\n\`\`\`diff\n${patches.join("\n")}\n\`\`\``,
    omitted.length > 0 ? `Not shown for size (read them with read_file): ${omitted.join(", ")}` : "",
    includeAgentsMd && context.agentsMd !== undefined ? `## AGENTS.md (at the reviewed commit)\n${context.agentsMd}` : "",
    includeAgentsMd && context.agentsMdStale !== undefined && context.agentsMdStale.length > 0 ? `## AGENTS.md claims this commit no longer bears out (gatehouse agents-md check)\n${context.agentsMdStale.map((s) => `- ${s}`).join("\n")}` : "",
  ];
  return parts.filter((p) => p !== "").join("\n\n");
}
