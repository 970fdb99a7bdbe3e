import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderMarkdown } from "./render/index.ts";
import { ReviewNotPerformedError } from "./failure.ts";
import { runReview } from "./run.ts";
import { clock, startModelHarness, type ModelHarness } from "../../test/review/harness.ts";
import { createRepo, type TestRepo } from "../../test/review/repo.ts";

const head = `export function parsePort(value: string): number {
  const port = parseInt(value);
  if (port > 65535) throw new Error("port out of range");
  return port;
}
`;

describe("coordinator re-grading", () => {
  let harness: ModelHarness;
  let repo: TestRepo;

  beforeAll(async () => {
    harness = await startModelHarness([
      {
        reviewer: "generalist",
        turns: [
          {
            findings: [
              { id: "1", severity: "warning", path: "src/port.ts", line: 2, title: "parseInt without radix accepts garbage like '80abc'", evidence: "const port = parseInt(value);", suggestion: "Use Number(value) and check Number.isInteger." },
              { id: "2", severity: "suggestion", path: "src/port.ts", line: 3, title: "Negative ports are not rejected", evidence: 'if (port > 65535) throw new Error("port out of range");', suggestion: "Check port < 1 too." },
            ],
          },
        ],
      },
      { reviewer: "coordinator", model: "claude-opus-4-1", turns: [{ text: '{"summary":"One real bug: non-numeric ports slip through.","findings":[{"id":"F1","action":"keep","severity":"critical"},{"id":"F2","action":"drop","reason":"nitpick"}]}' }] },
      { reviewer: "coordinator", model: "claude-sonnet-4-5", turns: [{ text: "I would approve this." }] },
    ]);
    repo = createRepo({ "src/port.ts": "export function parsePort(value: string): number {\n  return Number(value);\n}\n" }, { "src/port.ts": head });
  });
  afterAll(async () => {
    await harness.close();
    repo.remove();
  });

  it("drops and re-grades findings; the verdict follows the re-graded severities", async () => {
    const result = await runReview({ git: repo.git, base: "main", head: "feature", config: harness.config({ models: { coordinator: ["anthropic/claude-opus-4-1"] } }), rules: [], transport: harness.transport, clock });
    expect(result.findings.map((f) => [f.line, f.severity])).toEqual([[2, "critical"]]);
    expect(result.dropped.map((d) => [d.reason, d.detail])).toEqual([["coordinator", "nitpick"]]);
    expect(result.coordinator).toEqual({ model: "anthropic/claude-opus-4-1", summary: "One real bug: non-numeric ports slip through.", regraded: 1 });
    expect(result.verdict).toBe("requested_changes");
    expect(renderMarkdown(result)).toContain("One real bug: non-numeric ports slip through.");
  });

  // Fail closed: the coordinator may raise a severity, so without its answer the deterministic
  // "approved with comments" could hide a blocking verdict.
  it("an unusable coordinator reply fails the review instead of approving with the judge's result", async () => {
    const run = runReview({ git: repo.git, base: "main", head: "feature", config: harness.config({ models: { coordinator: ["anthropic/claude-sonnet-4-5"] } }), rules: [], transport: harness.transport, clock });
    await expect(run).rejects.toThrow(ReviewNotPerformedError);
    await expect(run).rejects.toThrow(/no review was performed: the coordinator failed: its reply was not the JSON object asked for/);
  });

  it("a range with only noise approves without calling any model", async () => {
    const before = harness.fake.calls.length;
    repo.push({ "package-lock.json": '{"lockfileVersion":3}\n' });
    const result = await runReview({ git: repo.git, base: "feature~1", head: "feature", config: harness.config(), rules: [], transport: harness.transport, clock });
    expect(result.reviewedFiles).toEqual([]);
    expect(result.skippedFiles).toEqual([{ path: "package-lock.json", reason: "lock-file" }]);
    expect(result.verdict).toBe("approved");
    expect(harness.fake.calls.length).toBe(before);
  });
});
