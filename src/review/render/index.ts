import type { ReviewResult } from "../result.ts";
import { renderMarkdown } from "./markdown.ts";
import { renderSarif } from "./sarif.ts";

export type OutputFormat = "markdown" | "json" | "sarif";

export function renderReview(result: ReviewResult, format: OutputFormat): string {
  if (format === "json") return `${JSON.stringify(result, null, 2)}\n`;
  if (format === "sarif") return `${JSON.stringify(renderSarif(result), null, 2)}\n`;
  return renderMarkdown(result);
}

export { renderMarkdown, inlineCommentBody } from "./markdown.ts";
export { renderSarif } from "./sarif.ts";
export { renderNotPerformed, renderNotPerformedMarkdown, notPerformedTitle } from "./not-performed.ts";
