import type { ReviewNotPerformedError } from "../failure.ts";
import { summaryMarker } from "../markers.ts";
import type { OutputFormat } from "./index.ts";

export const notPerformedTitle = "❌ No review was performed";

/** The comment (and local Markdown) for a failed run: why, and that it is not an approval. */
export function renderNotPerformedMarkdown(failure: ReviewNotPerformedError): string {
  return [
    summaryMarker,
    `## Gatehouse review: ${notPerformedTitle}`,
    "",
    "no review was performed: the change was **not** reviewed, so this is neither an approval nor a request for changes.",
    "",
    ...failure.reasons.map((reason) => `- ${reason}`),
    "",
    "Fix the cause (is the gateway reachable, the token valid, every configured model available?) and re-run the job.",
    "",
  ].join("\n");
}

/**
 * A failed run in each output format. JSON says `performed: false` and has no verdict; SARIF
 * marks the invocation unsuccessful, so code scanning does not read the empty result list as clean.
 */
export function renderNotPerformed(failure: ReviewNotPerformedError, format: OutputFormat): string {
  if (format === "json") return `${JSON.stringify({ performed: false, verdict: null, reasons: failure.reasons, attempts: failure.attempts }, null, 2)}\n`;
  if (format === "sarif") {
    const sarif = {
      $schema: "https://json.schemastore.org/sarif-2.1.0.json",
      version: "2.1.0",
      runs: [
        {
          tool: { driver: { name: "gatehouse-review", informationUri: "https://github.com/gatehouse/gatehouse/blob/main/docs/review.md", version: "0.1.0", rules: [] } },
          invocations: [
            {
              executionSuccessful: false,
              toolExecutionNotifications: failure.reasons.map((reason) => ({ level: "error", message: { text: `no review was performed: ${reason}` } })),
            },
          ],
          results: [],
          properties: { verdict: null, performed: false },
        },
      ],
    };
    return `${JSON.stringify(sarif, null, 2)}\n`;
  }
  return renderNotPerformedMarkdown(failure);
}
