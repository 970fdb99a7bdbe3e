// Every recipe in README.md and docs/*.md installs Gatehouse from its own repository at a
// pinned ref, never the npm registry's unrelated `gatehouse` package.
import { describe, expect, it } from "vitest";
import { recipeProblems } from "./ci-recipes.ts";
import { codeBlocks, docPages, type CodeBlock } from "./markdown.ts";

const block = (lang: string, code: string): CodeBlock => ({ page: "sample.md", lang, line: 1, endLine: code.split("\n").length + 2, code });

// The recipes docs/review.md shipped before (issue 15): what this test exists to catch.
const oldGitHub = `jobs:
  review:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - run: npx --yes gatehouse review --post github --base "origin/\${{ github.base_ref }}" --fail-on requested_changes
`;
const oldGitLab = `gatehouse-review:
  image: node:20
  script:
    - npx --yes gatehouse review --post gitlab --base "$CI_MERGE_REQUEST_DIFF_BASE_SHA" --fail-on requested_changes
`;

describe("docs recipes install Gatehouse from a pinned source of ours", () => {
  const blocks = docPages().flatMap(codeBlocks);

  it("finds the CI recipes it checks (GitHub Actions and GitLab CI in docs/review.md)", () => {
    const reviewRecipes = blocks.filter((b) => b.page === "docs/review.md" && b.lang === "yaml" && /gatehouse(?:\.js)? review/.test(b.code));
    expect(reviewRecipes.map((b) => (b.code.includes("actions/checkout") ? "github" : b.code.includes("CI_MERGE_REQUEST") ? "gitlab" : "other"))).toEqual(["github", "gitlab"]);
  });

  it("no docs code block runs npx gatehouse or installs Gatehouse unpinned", () => {
    expect(blocks.flatMap(recipeProblems)).toEqual([]);
  });

  it("catches the old recipes and the other ways to get it wrong", () => {
    expect(recipeProblems(block("yaml", oldGitHub))).toEqual([
      'sample.md:10: runs the npm registry\'s "gatehouse" (an unrelated package): npx --yes gatehouse',
      "sample.md:1: runs gatehouse review without installing Gatehouse from its repository at a pinned ref",
    ]);
    expect(recipeProblems(block("yaml", oldGitLab))).toHaveLength(2);
    expect(recipeProblems(block("sh", "npx gatehouse usage"))).toHaveLength(1);
    expect(recipeProblems(block("sh", "npm exec gatehouse -- review"))).toHaveLength(1);
    expect(recipeProblems(block("sh", "npm install -g gatehouse"))).toHaveLength(1);
    expect(recipeProblems(block("sh", "npm i gatehouse@0.1.0"))).toHaveLength(1);
    expect(recipeProblems(block("sh", "npm install --no-save github:gatehouse/gatehouse"))).toHaveLength(1);
    expect(recipeProblems(block("sh", "npm install --no-save github:gatehouse/gatehouse#main"))).toHaveLength(1);
    expect(recipeProblems(block("sh", "npm install --no-save github:gatehouse/gatehouse#v0.1.0"))).toEqual([]);
    expect(recipeProblems(block("sh", "git clone https://github.com/gatehouse/gatehouse.git /opt/gatehouse"))).toHaveLength(1);
    expect(recipeProblems(block("sh", "git clone --branch main https://github.com/gatehouse/gatehouse.git /opt/gatehouse"))).toHaveLength(1);
    expect(recipeProblems(block("sh", "git clone --branch v0.1.0 --depth 1 https://github.com/gatehouse/gatehouse.git /opt/gatehouse"))).toEqual([]);
    expect(recipeProblems(block("sh", "npm install --no-save github:gatehouse/gatehouse#0123456789abcdef0123456789abcdef01234567"))).toEqual([]);
    const checkout = (ref: string) =>
      `env:\n  GATEHOUSE_REF: ${ref}\njobs:\n  r:\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          repository: gatehouse/gatehouse\n          ref: \${{ env.GATEHOUSE_REF }}\n      - run: node .g/bin/gatehouse.js review\n`;
    expect(recipeProblems(block("yaml", checkout("v0.1.0")))).toEqual([]);
    expect(recipeProblems(block("yaml", checkout("main")))).toEqual([
      'sample.md:1: GATEHOUSE_REF "main" is not a pinned ref (vX.Y.Z or a 40-hex sha)',
      "sample.md:1: checks out gatehouse/gatehouse without a pinned ref (got main)",
      "sample.md:1: runs gatehouse review without installing Gatehouse from its repository at a pinned ref",
    ]);
    const noRef = "jobs:\n  r:\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          repository: gatehouse/gatehouse\n      - run: node bin/gatehouse.js review\n";
    expect(recipeProblems(block("yaml", noRef))).toHaveLength(2);
    const gitlab = (ref: string) => `j:\n  variables:\n    GATEHOUSE_REF: ${ref}\n  script:\n    - git -C /opt/g fetch --depth 1 https://github.com/gatehouse/gatehouse.git "$GATEHOUSE_REF"\n    - node /opt/g/bin/gatehouse.js review\n`;
    expect(recipeProblems(block("yaml", gitlab("0123456789abcdef0123456789abcdef01234567")))).toEqual([]);
    expect(recipeProblems(block("yaml", gitlab("master")))).toHaveLength(2);
  });
});
