import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { localCatalogSource } from "../../src/adapters/node/knowledge/local-source.ts";
import { openStore } from "../../src/adapters/node/store.ts";
import { AGENTS_MD_BRANCH, upsertAgentsMdPullRequest } from "../../src/agents-md/index.ts";
import { systemClock } from "../../src/core/clock.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { catalogStore, refreshCatalog } from "../../src/knowledge/index.ts";
import { FakeGitHub } from "./fake-github.ts";
import { generateFleet } from "./fleet.ts";

const BIN = fileURLToPath(new URL("../../bin/gatehouse.js", import.meta.url));
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
    expect(await upsertAgentsMdPullRequest(target, "# v1\n")).toMatchObject({ number: 1, action: "created" });
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

  it("over a fleet through the CLI, SIGKILL half way and resumed: every repo has exactly one PR", async () => {
    const REPOS = 60;
    github = new FakeGitHub(TOKEN);
    const apiUrl = await github.start();
    const root = mkdtempSync(join(tmpdir(), "gatehouse-fleet-pr-"));
    const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-fleet-pr-data-"));
    const fleet = generateFleet(root, REPOS);
    for (const repo of fleet) github.addRepo(`acme/${repo.name}`);
    const db = await openStore(parseSettings({}, { dataDir }));
    try {
      await refreshCatalog(catalogStore(db), [localCatalogSource({ id: "fleet", path: root })], systemClock);
    } finally {
      await db.destroy();
    }
    const gh = github;
    const runCli = (killAt: number | undefined) => {
      const child = spawn(process.execPath, [BIN, "agents-md", "generate", "--catalog", "--json", "--lease-ms", "2000", "--github-owner", "acme", "--github-api-url", apiUrl, "-d", dataDir], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, GITHUB_TOKEN: TOKEN },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        if (killAt !== undefined && gh.pullsCreated >= killAt) child.kill("SIGKILL");
      });
      return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr })));
    };
    const first = await runCli(REPOS / 2);
    expect(first.signal).toBe("SIGKILL");
    expect(github.pullsCreated).toBeLessThan(REPOS);
    const second = await runCli(undefined);
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout) as { counts: Record<string, number> };
    expect(report.counts).toMatchObject({ done: REPOS, failed: 0 });
    expect(github.pullsCreated).toBe(REPOS);
    for (const repo of fleet) {
      const state = github.repos.get(`acme/${repo.name}`);
      expect({ repo: repo.name, pulls: state?.pulls.length, commits: state?.commits }).toEqual({ repo: repo.name, pulls: 1, commits: 1 });
      expect(state?.files.get(AGENTS_MD_BRANCH)?.get("AGENTS.md")?.text).toContain(`owned by \`${repo.owner}\``);
    }
  });
});
