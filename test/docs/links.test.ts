// Every relative link in README.md and docs/*.md resolves: the file exists and, for a
// `page.md#anchor` link, the page has that heading. Pages named in inline code exist too.
import { describe, expect, it } from "vitest";
import { brokenReason, headingAnchors, mentionResolves, mentionedPages, relativeLinks } from "./links.ts";
import { docPages } from "./markdown.ts";

describe("docs links", () => {
  const pages = docPages();

  it("reads README.md and every docs page, and finds their links", () => {
    expect(pages.map((p) => p.path)).toContain("README.md");
    expect(pages.map((p) => p.path)).toContain("docs/review.md");
    const readme = relativeLinks(pages.find((p) => p.path === "README.md") ?? { path: "", text: "" });
    expect(readme.map((l) => l.target)).toContain("docs/gateway.md");
  });

  it("every relative link resolves", () => {
    const broken = pages.flatMap(relativeLinks).flatMap((link) => {
      const reason = brokenReason(link);
      return reason === undefined ? [] : [`${link.page}:${link.line}: (${link.target}) ${reason}`];
    });
    expect(broken).toEqual([]);
  });

  it("every Markdown page named in inline code exists", () => {
    const missing = pages.flatMap(mentionedPages).filter((m) => !mentionResolves(m));
    expect(missing.map((m) => `${m.page}:${m.line}: \`${m.target}\``)).toEqual([]);
  });

  it("catches a missing page, a missing anchor and links hidden in code", () => {
    const page = {
      path: "docs/sample.md",
      text: "# Sample\nSee [usage](usage.md), [gateway](gateway.md#nope), [ok](gateway.md), [self](#sample) and `docs/usage.md`.\n\n```md\n[in code](missing.md)\n```\n[ref]: ../nowhere/x.md\n",
    };
    const links = relativeLinks(page);
    expect(links.map((l) => l.target)).toEqual(["usage.md", "gateway.md#nope", "gateway.md", "#sample", "../nowhere/x.md"]);
    expect(links.map((l) => brokenReason(l))).toEqual(["docs/usage.md does not exist", "docs/gateway.md has no heading #nope", undefined, "docs/sample.md does not exist", "nowhere/x.md does not exist"]);
    expect(mentionedPages(page).map((m) => [m.target, mentionResolves(m)])).toEqual([["docs/usage.md", false]]);
  });

  it("computes GitHub's heading anchors", () => {
    expect([...headingAnchors("# AI code review in CI: `gatehouse review`\n## Setup\n## Setup\n### A/B & C.d\n")]).toEqual(["ai-code-review-in-ci-gatehouse-review", "setup", "setup-1", "ab--cd"]);
  });
});
