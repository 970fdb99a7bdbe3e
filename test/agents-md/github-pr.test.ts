import { afterEach, describe, expect, it } from "vitest";
import { AGENTS_MD_BRANCH, readAgentsMdOnBranch, upsertAgentsMdPullRequest } from "../../src/agents-md/index.ts";
import { FakeGitHub } from "./fake-github.ts";

const TOKEN = "ghp_fakeTokenForTests0123456789";
let github: FakeGitHub | undefined;
afterEach(async () => {
  await github?.close();
  github = undefined;
});

describe("the AGENTS.md pull request on GitHub", { timeout: 300_000 }, () => {
  it("creates one PR, leaves it alone when nothing changed, updates it (never a second) when the file changed", async () => {
    github = new FakeGitHub(TOKEN);
    github.addRepo("acme/payments");
    const apiUrl = await github.start();
    const target = { apiUrl, token: TOKEN, owner: "acme", repo: "payments" };
    expect(await readAgentsMdOnBranch(target)).toBeUndefined();
    expect(await upsertAgentsMdPullRequest(target, "# v1\n")).toMatchObject({ number: 1, action: "created" });
    expect(await readAgentsMdOnBranch(target)).toBe("# v1\n");
    expect(await upsertAgentsMdPullRequest(target, "# v1\n")).toMatchObject({ number: 1, action: "unchanged" });
    expect(await upsertAgentsMdPullRequest(target, "# v2 — ünïcode\n")).toMatchObject({ number: 1, action: "updated" });
    const repo = github.repos.get("acme/payments");
    expect(repo?.pulls).toHaveLength(1);
    expect(repo?.commits).toBe(2);
    expect(repo?.files.get(AGENTS_MD_BRANCH)?.get("AGENTS.md")?.text).toBe("# v2 — ünïcode\n");
    expect(repo?.files.get("main")?.has("AGENTS.md")).toBe(false);
    // A PR closed by its owners is not reopened: the next run opens a new one.
    if (repo?.pulls[0]) repo.pulls[0].state = "closed";
    expect(await upsertAgentsMdPullRequest(target, "# v2 — ünïcode\n")).toMatchObject({ number: 2, action: "created" });
  });

  it("a bad token fails with GitHub's message and what to check, never the token", async () => {
    github = new FakeGitHub(TOKEN);
    github.addRepo("acme/payments");
    const apiUrl = await github.start();
    const error = await upsertAgentsMdPullRequest({ apiUrl, token: "ghp_wrong", owner: "acme", repo: "payments" }, "x").then(
      () => undefined,
      (err: Error) => err,
    );
    expect(error?.message).toBe("GitHub GET acme/payments: 401 Bad credentials (check the token's access to the repository: contents and pull requests, read and write)");
    expect(error?.message).not.toContain("ghp_");
  });
  // The fleet through the CLI with a SIGKILL half way: test/agents-md/fleet-kill.test.ts (300 repos) and bench/agents-md-fleet.ts (2,000).
});
