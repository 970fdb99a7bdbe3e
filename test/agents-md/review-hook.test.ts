import { describe, expect, it } from "vitest";
import { detectRepo, renderAgentsMd, staleClaimsInTree, type RepoSnapshot } from "../../src/agents-md/index.ts";
import { changeUserPrompt } from "../../src/review/prompt.ts";

function tree(files: Record<string, string>) {
  return { list: async () => Object.keys(files).sort(), read: async (path: string) => files[path] };
}

function generated(files: Record<string, string>): string {
  const dirs = new Set<string>();
  for (const f of Object.keys(files)) {
    const parts = f.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  const snapshot: RepoSnapshot = { files: Object.keys(files).sort(), dirs: [...dirs].sort(), read: (p) => files[p] };
  return renderAgentsMd("svc", detectRepo(snapshot), undefined, []).text;
}

describe("the reviewer's AGENTS.md specialist hook", () => {
  const before = { "package.json": JSON.stringify({ scripts: { test: "vitest", lint: "eslint ." } }), "src/a.ts": "", "docs/x.md": "" };

  it("lists the claims the reviewed tree no longer bears out, and puts them in the specialist's prompt only", async () => {
    const agentsMd = generated(before);
    const after = { "package.json": JSON.stringify({ scripts: { test: "vitest" } }), "src/a.ts": "", "AGENTS.md": agentsMd };
    const stale = (await staleClaimsInTree(agentsMd, tree(after).list, tree(after).read)).map((f) => `${f.materiality}: ${f.message}`);
    expect(stale).toEqual(["high: `npm run lint` is no longer declared (was package.json#scripts.lint)", "medium: `docs/` no longer exists"]);
    const context = { title: "t", description: "", tier: "lite" as const, files: [], maxPatchChars: 1000, agentsMd, agentsMdStale: stale };
    expect(changeUserPrompt(context, true)).toContain("## AGENTS.md claims this commit no longer bears out (gatehouse agents-md check)\n- high: `npm run lint` is no longer declared");
    expect(changeUserPrompt(context, false)).not.toContain("no longer bears out");
  });

  it("says nothing about an unchanged tree or a hand-written file, and reports a manifest it cannot read", async () => {
    const agentsMd = generated(before);
    expect(await staleClaimsInTree(agentsMd, tree(before).list, tree(before).read)).toEqual([]);
    expect(await staleClaimsInTree("Run `npm test`.\n", tree(before).list, tree(before).read)).toEqual([]);
    const broken = { ...before, "package.json": "{" };
    expect(await staleClaimsInTree(agentsMd, tree(broken).list, tree(broken).read)).toEqual([expect.objectContaining({ materiality: "medium", message: expect.stringMatching(/^AGENTS.md could not be checked: package.json: not valid JSON/) })]);
  });
});

describe("a review run gives the AGENTS.md specialist the stale claims", { timeout: 120_000 }, () => {
  it("the specialist's first prompt lists a script the change removed", async () => {
    const { runReview } = await import("../../src/review/run.ts");
    const { startModelHarness, clock } = await import("../review/harness.ts");
    const { createRepo } = await import("../review/repo.ts");
    const base = { "package.json": JSON.stringify({ scripts: { test: "vitest", lint: "eslint ." } }), "src/a.ts": "export const a = 1;\n" };
    const repo = createRepo({ ...base, "AGENTS.md": generated(base) }, { "package.json": JSON.stringify({ scripts: { test: "vitest" } }), "src/a.ts": "export const a = 2;\n" });
    const harness = await startModelHarness([]);
    try {
      await runReview({ git: repo.git, base: "main", head: "feature", config: harness.config({ securityPaths: ["src/**"] }), rules: [], transport: harness.transport, clock, title: "Drop lint" });
      const call = harness.fake.calls.find((c) => c.reviewer === "agents-md" && c.turn === 0);
      expect(JSON.stringify(call?.body ?? {})).toContain("AGENTS.md claims this commit no longer bears out (gatehouse agents-md check)\\n- high: `npm run lint` is no longer declared");
      const other = harness.fake.calls.find((c) => c.reviewer === "quality" && c.turn === 0);
      expect(JSON.stringify(other?.body ?? {})).not.toContain("no longer bears out");
    } finally {
      await harness.close();
    }
  });
});
