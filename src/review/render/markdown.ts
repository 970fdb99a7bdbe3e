import { findingMarker, summaryMarker } from "../markers.ts";
import type { ReviewedFinding } from "../rereview.ts";
import type { ReviewResult } from "../result.ts";

const verdictText: Record<ReviewResult["verdict"], string> = {
  approved: "✅ Approved",
  approved_with_comments: "💬 Approved with comments",
  requested_changes: "⛔ Changes requested",
};
const severityIcon = { critical: "🔴", warning: "🟠", suggestion: "🔵" } as const;

function fence(code: string): string {
  const ticks = code.includes("```") ? "````" : "```";
  return `${ticks}\n${code}\n${ticks}`;
}

/** The body of one inline comment, with the hidden marker a later re-review reads back. */
export function inlineCommentBody(f: ReviewedFinding): string {
  const rule = f.rule ? ` · rule \`${f.rule}\`` : "";
  const suggestion = f.suggestion ? `\n\n**Suggested fix:** ${f.suggestion}` : "";
  const marker = findingMarker({ fp: f.fingerprint, path: f.path, line: f.line, title: f.title, severity: f.severity, rule: f.rule, evidence: f.evidence.slice(0, 500) });
  return `${severityIcon[f.severity]} **${f.severity}**: ${f.title}${rule}\n\n${fence(f.evidence)}${suggestion}\n\n<sub>gatehouse review · ${f.reviewers.join(", ")}</sub>\n${marker}`;
}

function tokens(result: ReviewResult): string {
  const t = result.usage.total;
  const cost = result.usage.costUsd === undefined ? "cost unknown" : `$${result.usage.costUsd.toFixed(4)}`;
  return `${t.inputTokens + t.cacheReadTokens + t.cacheWrite5mTokens + t.cacheWrite1hTokens} input / ${t.outputTokens} output tokens, ${cost}`;
}

/** The summary comment (and the local Markdown output). */
export function renderMarkdown(result: ReviewResult): string {
  const lines: string[] = [summaryMarker, `## Gatehouse review: ${verdictText[result.verdict]}`, ""];
  if (result.breakGlass) lines.push(`> **Break glass** by @${result.breakGlass.by} at ${result.breakGlass.at}: approval forced, findings below are advisory.`, "");
  if (result.coordinator?.summary) lines.push(result.coordinator.summary, "");
  const active = result.findings.filter((f) => f.status !== "respected");
  if (active.length === 0) lines.push("No issues found that need your attention.", "");
  else {
    lines.push("| | Finding | Where | Reviewer |", "|---|---|---|---|");
    for (const f of active) {
      const state = f.status === "still-open" ? " (still open)" : f.status === "reopened" ? " (reopened: worse than before)" : "";
      lines.push(`| ${severityIcon[f.severity]} ${f.severity} | ${f.title.replace(/\|/g, "\\|")}${f.rule ? ` (\`${f.rule}\`)` : ""}${state} | \`${f.path}:${f.line}\` | ${f.reviewers.join(", ")} |`);
    }
    lines.push("");
    const outside = active.filter((f) => !f.inline);
    for (const f of outside) lines.push(`**${f.path}:${f.line}**: ${f.title}`, fence(f.evidence), f.suggestion ? `Suggested fix: ${f.suggestion}` : "", "");
  }
  if (result.fixed.length > 0) lines.push(`Fixed since the last review: ${result.fixed.map((f) => `${f.title} (\`${f.path}\`)`).join("; ")}.`, "");
  const respected = result.findings.filter((f) => f.status === "respected");
  if (respected.length > 0) lines.push(`Settled by a human earlier and not raised again: ${respected.length}.`, "");
  lines.push(
    "<details><summary>Review details</summary>",
    "",
    `- Tier: **${result.tier.tier}** (${result.tier.reason}); ${result.reviewedFiles.length} file(s) reviewed, ${result.skippedFiles.length} skipped as noise`,
    `- Reviewers: ${result.reviewers.map((r) => `${r.reviewer} → ${r.findings} (${r.models.join(", ") || "no model"})`).join("; ") || "none"}`,
    `- Codex rules applied: ${result.codexRules.join(", ") || "none"}`,
    `- Dropped by the judge: ${result.dropped.length}${result.dropped.length > 0 ? ` (${[...new Set(result.dropped.map((d) => d.reason))].join(", ")})` : ""}`,
    `- Usage: ${tokens(result)}; ${(result.durationMs / 1000).toFixed(1)} s`,
    "",
    "</details>",
  );
  return lines.filter((line, i, all) => !(line === "" && all[i - 1] === "")).join("\n") + "\n";
}
