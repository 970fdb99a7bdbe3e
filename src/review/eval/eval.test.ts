import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayToken, startModelHarness, type ModelHarness } from "../../../test/review/harness.ts";
import { createRepo } from "../../../test/review/repo.ts";
import { parseGoldenFile } from "./dataset.ts";
import { renderEvalReport, runEval } from "./run.ts";
import { metrics, scoreCase } from "./score.ts";

const run = promisify(execFile);
const root = join(import.meta.dirname, "../../..");
const dataset = join(root, "examples/review-dataset");

const f = (path: string, line: number, title: string, evidence: string, severity = "warning") => ({ id: "X", severity, path, line, title, evidence, suggestion: "" });

describe("golden formats", () => {
  it("accepts Martian's spelling and repo-keyed files, rejects entries without text", () => {
    const martian = parseGoldenFile({ sentry: [{ pr_title: "Fix cache", url: "https://github.com/getsentry/sentry/pull/1", comments: [{ comment: "Race on cache fill", severity: "High" }] }] }, "m.json");
    expect(martian).toEqual([{ id: "https://github.com/getsentry/sentry/pull/1", title: "Fix cache", comments: [{ body: "Race on cache fill", path: undefined, line: undefined, severity: "High" }], repo: undefined, base: undefined, head: undefined }]);
    expect(() => parseGoldenFile([{ pr: "x", comments: [{ path: "a.ts" }] }], "bad.json")).toThrow(/needs `body`/);
  });

  it("matches one-to-one within the line tolerance and computes P/R/F1", async () => {
    const golden = [
      { body: "off by one", path: "a.ts", line: 10, severity: undefined },
      { body: "leak", path: "a.ts", line: 40, severity: undefined },
    ];
    const findings = [f("a.ts", 12, "loop bound", ""), f("a.ts", 11, "same loop again", ""), f("b.ts", 40, "elsewhere", "")];
    const score = await scoreCase("c", golden, findings);
    expect([score.truePositives, score.falsePositives, score.falseNegatives]).toEqual([1, 2, 1]);
    const m = metrics([score]);
    expect(m.precision).toBeCloseTo(1 / 3);
    expect(m.recall).toBeCloseTo(1 / 2);
    expect(m.f1).toBeCloseTo(0.4);
  });
});

describe("an incomplete eval has no score", () => {
  const cases = parseGoldenFile(
    [
      { pr: "a", comments: [{ body: "off by one", path: "a.ts", line: 3 }] },
      { pr: "b", comments: [] },
    ],
    "g.json",
  );

  it("every case skipped (no reviewer configured) is a failure, not 100% precision and recall", async () => {
    const report = await runEval(cases, async () => ({ skip: "no --config" }));
    expect(report).toMatchObject({ complete: false, overall: null });
    expect(renderEvalReport(report)).toBe("review eval failed: 2 of 2 case(s) could not be reviewed and scored, so there is no score.\n- a: skipped: no --config\n- b: skipped: no --config\n");
  });

  it("one errored case is not scored as all-missed", async () => {
    const report = await runEval(cases, async (c) => {
      if (c.id === "a") throw new Error("no review was performed: gateway down");
      return { findings: [] };
    });
    expect(report.errored).toEqual([{ id: "a", error: "no review was performed: gateway down" }]);
    expect(report.cases.map((c) => c.id)).toEqual(["b"]);
    expect(report.overall).toBeNull();
    expect(renderEvalReport(report)).not.toContain("|");
  });
});

// Runs the CLI and git as child processes: generous per-test time on a loaded 2-core machine.
describe("gatehouse review eval / review (CLI, real git, fake model)", { timeout: 120_000 }, () => {
  let harness: ModelHarness;
  let work: string;
  let configFile: string;

  beforeAll(async () => {
    harness = await startModelHarness([
      {
        reviewer: "quality",
        when: "src/invoice.ts",
        turns: [
          { toolCalls: [{ name: "read_file", input: { path: "src/invoice.ts", start_line: 1, end_line: 30 } }] },
          {
            findings: [
              f("src/invoice.ts", 9, "Loop reads one past the end of items", "for (let i = 0; i <= items.length; i++) {", "critical"),
              f("src/invoice.ts", 17, "Tax is truncated instead of rounded", "return Math.floor((subtotalCents(items) * ratePercent) / 100);"),
              f("src/invoice.ts", 3, "description is never used", "description: string;", "suggestion"),
            ],
          },
        ],
      },
      { reviewer: "security", when: "app/auth/tokens.py", turns: [{ findings: [f("app/auth/tokens.py", 17, "MAC comparison is not constant-time", "if mac == expected:", "critical")] }] },
      {
        reviewer: "codex",
        when: "internal/search/search.go",
        turns: [{ findings: [{ ...f("internal/search/search.go", 24, "Query formatted with Sprintf", "rows, err := db.Query(fmt.Sprintf(\"SELECT id, name FROM products WHERE name LIKE '%%%s%%'\", query))", "critical"), rule: "sql-parameterized-queries" }] }],
      },
      { reviewer: "quality", when: "internal/search/search.go", turns: [{ findings: [f("internal/search/search.go", 28, "rows is never closed", "for rows.Next() {")] }] },
      { reviewer: "generalist", when: "src/greeting.ts", turns: [{ findings: [f("src/greeting.ts", 2, "Prefer const for the greeting", "return `Hello, ${name}!`;", "suggestion")] }] },
      { reviewer: "eval-judge", when: "Math.floor truncates", turns: [{ text: "no" }] },
      { reviewer: "eval-judge", turns: [{ text: "yes" }] },
    ]);
    work = mkdtempSync(join(tmpdir(), "gatehouse-eval-test-"));
    configFile = join(work, "review.yaml");
    writeFileSync(
      configFile,
      `gateway:\n  url: ${harness.server.url}\nmodels:\n  specialist: [anthropic/claude-sonnet-4-5]\n  trivial: [openai/gpt-5-mini]\n  evalJudge: [anthropic/claude-haiku-4-5]\nsecurityPaths: ["**/auth/**"]\ncodexDir: ${join(root, "examples/config/codex")}\n`,
    );
  });
  afterAll(async () => {
    await harness.close();
    rmSync(work, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => run(process.execPath, [join(root, "bin/gatehouse.js"), ...args], { env: { ...process.env, GATEHOUSE_TOKEN: gatewayToken }, cwd: work });

  it("scores the shipped dataset: file+line matching", async () => {
    const { stdout, stderr } = await cli("review", "eval", dataset, "--config", configFile, "--no-judge", "--format", "json");
    const report = JSON.parse(stdout) as { overall: { truePositives: number; falsePositives: number; falseNegatives: number; precision: number; recall: number; f1: number }; cases: Array<{ id: string; error?: string }> };
    expect(report.cases.map((c) => c.error)).toEqual([undefined, undefined, undefined, undefined]);
    expect(report.overall).toMatchObject({ truePositives: 5, falsePositives: 2, falseNegatives: 1 });
    expect(report.overall.precision).toBeCloseTo(5 / 7);
    expect(report.overall.recall).toBeCloseTo(5 / 6);
    expect(report.overall.f1).toBeCloseTo(10 / 13);
    expect(stderr).toContain("4/4 clean-refactor");
  });

  it("with a judge model, a finding must also mean the same issue", async () => {
    const { stdout } = await cli("review", "eval", dataset, "--config", configFile, "--format", "json");
    const report = JSON.parse(stdout) as { overall: { truePositives: number; falsePositives: number; falseNegatives: number } };
    expect(report.overall).toMatchObject({ truePositives: 4, falsePositives: 3, falseNegatives: 2 });
    expect(harness.fake.calls.some((c) => c.reviewer === "eval-judge" && c.route === "anthropic")).toBe(true);
  });

  it("gatehouse review writes SARIF for a local range and reports tokens and cost", async () => {
    const repo = createRepo({ "src/greeting.ts": 'export function greet(name: string): string {\n  return "Hello, " + name + "!";\n}\n' }, { "src/greeting.ts": "export function greet(name: string): string {\n  return `Hello, ${name}!`;\n}\n" });
    try {
      const out = join(work, "review.sarif");
      const { stderr } = await cli("review", "--config", configFile, "--repo", repo.dir, "--base", "main", "--head", "feature", "--format", "sarif", "-o", out);
      const sarif = JSON.parse(readFileSync(out, "utf8")) as { version: string; runs: Array<{ results: Array<{ level: string }> }> };
      expect(sarif.version).toBe("2.1.0");
      expect(sarif.runs[0]?.results.map((r) => r.level)).toEqual(["note"]);
      expect(stderr).toMatch(/approved_with_comments; 1 finding\(s\); \d+ in \/ \d+ out tokens; \$0\.\d{4}/);
    } finally {
      repo.remove();
    }
  });
});
