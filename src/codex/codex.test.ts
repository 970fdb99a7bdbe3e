import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatRuleProblem, lintRules, rulesForFiles } from "./index.ts";

const dir = join(import.meta.dirname, "../../examples/config/codex");
const shipped = readdirSync(dir).map((f) => ({ source: f, text: readFileSync(join(dir, f), "utf8") }));

const rule = (front: string, body = "## Bad\n```ts\nbad()\n```\n\n## Good\n```ts\ngood()\n```\n") => `---\n${front}\n---\nWhy it matters.\n\n${body}`;

describe("codex lint", () => {
  it("accepts the shipped example rules", () => {
    const { rules, problems } = lintRules(shipped);
    expect(problems).toEqual([]);
    expect(rules.map((r) => r.id)).toEqual(["http-timeouts", "no-secrets-in-logs", "sql-parameterized-queries", "ts-no-floating-promises"]);
    expect(rules[2]?.bad).toContain('f"SELECT');
  });

  it("reports every problem: schema, missing examples, duplicate ids, bad YAML", () => {
    const { problems } = lintRules([
      { source: "a.md", text: rule("id: Bad Id\ntitle: short\nrfc: not-a-url\nseverity: blocker") },
      { source: "b.md", text: rule("id: ok-rule\ntitle: If you need X, use Y\nrfc: https://example.com/rfc/1", "## Bad\n```\nx\n```\n") },
      { source: "c.md", text: rule("id: dup\ntitle: If you need X, use Y\nrfc: https://example.com/rfc/1") },
      { source: "d.md", text: rule("id: dup\ntitle: If you need Z, use W\nrfc: https://example.com/rfc/2") },
      { source: "e.md", text: "no frontmatter here" },
      { source: "f.md", text: rule("id: [unclosed") },
    ]);
    const text = problems.map((p) => `${p.source}: ${p.message}`).join("\n");
    expect(text).toContain("a.md: id: rule id must be lowercase");
    expect(text).toContain("a.md: rfc:");
    expect(text).toContain("a.md: severity:");
    expect(text).toContain("b.md: missing a `## Good` section");
    expect(text).toContain('d.md: duplicate rule id "dup" (also in c.md)');
    expect(text).toContain("e.md: missing YAML frontmatter");
    expect(text).toContain("f.md: invalid YAML frontmatter");
  });
});

describe("codex lint line numbers", () => {
  it("puts every problem at its line: the frontmatter field, the section, the duplicate id", () => {
    const { problems } = lintRules([
      // line 1 ---, 2 id, 3 title, 4 rfc, 5 severity, 6 ---
      { source: "a.md", text: rule("id: ok-a\ntitle: short\nrfc: not-a-url\nseverity: blocker") },
      { source: "b.md", text: "---\nid: ok-b\ntitle: If you need X, use Y\nrfc: https://example.com/rfc/1\n---\nWhy.\n\n## Bad\n```\nx\n```\n\n## Good\nno fence here\n" },
      { source: "c.md", text: rule("id: dup\ntitle: If you need X, use Y\nrfc: https://example.com/rfc/1") },
      { source: "d.md", text: rule("title: If you need Z, use W\nid: dup\nrfc: https://example.com/rfc/2") },
      { source: "e.md", text: rule("id: typo\ntitle: If you need X, use Y\nrfc: https://example.com/rfc/1\nseverty: warning") },
      { source: "f.md", text: rule("id: [unclosed") },
    ]);
    const lines = problems.map(formatRuleProblem);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^a\.md:3: title: /),
        expect.stringMatching(/^a\.md:4: rfc: Invalid URL: write a full URL with its scheme/),
        expect.stringMatching(/^a\.md:5: severity: /),
        "b.md:13: the `## Good` section has no fenced code example",
        'd.md:3: duplicate rule id "dup" (also in c.md); give one of them another id',
        'e.md:5: severty: unknown key "severty": did you mean "severity"?',
        expect.stringMatching(/^f\.md:2: invalid YAML frontmatter: /),
      ]),
    );
    expect(lines).toHaveLength(7);
  });
});

describe("rule selection", () => {
  const { rules } = lintRules(shipped);
  it("gives only rules whose language, paths and exceptions fit the changed files, sorted by id", () => {
    expect(rulesForFiles(rules, ["migrations/001.py"]).map((r) => r.id)).toEqual(["no-secrets-in-logs"]);
    expect(rulesForFiles(rules, ["src/api/client.ts"]).map((r) => r.id)).toEqual(["http-timeouts", "no-secrets-in-logs", "sql-parameterized-queries", "ts-no-floating-promises"]);
    expect(rulesForFiles(rules, ["src/api/client.test.ts"]).map((r) => r.id)).toEqual(["no-secrets-in-logs", "sql-parameterized-queries"]);
    expect(rulesForFiles(rules, ["README"]).map((r) => r.id)).toEqual(["no-secrets-in-logs"]);
    expect(rulesForFiles(rules, [])).toEqual([]);
  });
});
