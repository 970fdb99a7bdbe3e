import type { ReviewResult } from "../result.ts";

const level = { critical: "error", warning: "warning", suggestion: "note" } as const;

/** SARIF 2.1.0, for GitHub code scanning upload and other SARIF viewers. */
export function renderSarif(result: ReviewResult): Record<string, unknown> {
  const ruleIds = [...new Set(result.findings.map((f) => f.rule ?? `gatehouse/${f.reviewers[0] ?? "review"}`))].sort();
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "gatehouse-review",
            informationUri: "https://github.com/gatehouse/gatehouse/blob/main/docs/review.md",
            version: "0.1.0",
            rules: ruleIds.map((id) => ({ id, name: id.replace(/[^A-Za-z0-9]+/g, "_"), shortDescription: { text: id.startsWith("gatehouse/") ? `Gatehouse ${id.slice(10)} reviewer` : `Engineering Codex rule ${id}` } })),
          },
        },
        versionControlProvenance: [{ repositoryUri: "urn:gatehouse:local", revisionId: result.headSha }],
        results: result.findings
          .filter((f) => f.status !== "respected")
          .map((f) => {
            const ruleId = f.rule ?? `gatehouse/${f.reviewers[0] ?? "review"}`;
            return {
              ruleId,
              ruleIndex: ruleIds.indexOf(ruleId),
              level: level[f.severity],
              message: { text: f.suggestion ? `${f.title}\n\nSuggested fix: ${f.suggestion}` : f.title },
              locations: [{ physicalLocation: { artifactLocation: { uri: f.path, uriBaseId: "%SRCROOT%" }, region: { startLine: f.line, snippet: { text: f.evidence } } } }],
              partialFingerprints: { gatehouseFinding: f.fingerprint },
              properties: { severity: f.severity, reviewers: f.reviewers, status: f.status },
            };
          }),
        properties: { verdict: result.verdict, tier: result.tier.tier },
      },
    ],
  };
}
