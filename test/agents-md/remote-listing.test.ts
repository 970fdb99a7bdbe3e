import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { readCheckout } from "../../src/adapters/node/agents-md/checkout.ts";
import { localCatalogSource } from "../../src/adapters/node/knowledge/local-source.ts";
import { openStore } from "../../src/adapters/node/store.ts";
import { AGENTS_MD_BRANCH, planAgentsMd } from "../../src/agents-md/index.ts";
import { systemClock } from "../../src/core/clock.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { catalogQueries, catalogStore, refreshCatalog } from "../../src/knowledge/index.ts";
import { startFakeGitLab, type FakeGitLab } from "../fake-gitlab/index.ts";
import { FakeGitHub } from "./fake-github.ts";
import { generateFleet, type ExpectedRepo } from "./fleet.ts";

const run = promisify(execFile);
const BIN = fileURLToPath(new URL("../../bin/gatehouse.js", import.meta.url));
const GH_TOKEN = "ghp_listingTokenForTests0123456789";
const GL_TOKEN = "glpat-listingTokenForTests012345";

/** A checkout's files as a host holds them: git keeps no empty directory, so a generated dir present locally gets a placeholder file. */
function filesOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const entries = readdirSync(rel === "" ? dir : join(dir, rel), { withFileTypes: true });
    if (entries.length === 0 && rel !== "") out[`${rel}/.gitkeep`] = "";
    for (const entry of entries) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else out[path] = readFileSync(join(dir, path), "utf8");
    }
  };
  walk("");
  return out;
}

async function fleetWithCatalog(count: number): Promise<{ root: string; dataDir: string; fleet: ExpectedRepo[]; expected: Map<string, string> }> {
  const root = mkdtempSync(join(tmpdir(), "gatehouse-listing-"));
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-listing-data-"));
  const fleet = generateFleet(root, count);
  const db = await openStore(parseSettings({}, { dataDir }));
  const expected = new Map<string, string>();
  try {
    await refreshCatalog(catalogStore(db), [localCatalogSource({ id: "fleet", path: root })], systemClock);
    // What generate writes from the checkout: the remote snapshot must give the same bytes.
    for (const repo of fleet) expected.set(repo.name, (await planAgentsMd(readCheckout(join(root, repo.name)), repo.name, catalogQueries(db), [])).text);
  } finally {
    await db.destroy();
  }
  return { root, dataDir, fleet, expected };
}

let github: FakeGitHub | undefined;
let gitlab: FakeGitLab | undefined;
afterEach(async () => {
  await github?.close();
  await gitlab?.close();
  github = undefined;
  gitlab = undefined;
});

describe("agents-md generate over an org or group listing, read through the API", { timeout: 300_000 }, () => {
  it("--github-org: every repository of a 2-page listing (120 repos) gets one PR whose AGENTS.md is byte for byte what its checkout gives", async () => {
    const REPOS = 120;
    const { root, dataDir, fleet, expected } = await fleetWithCatalog(REPOS);
    github = new FakeGitHub(GH_TOKEN);
    for (const repo of fleet) github.addRepo(`acme/${repo.name}`, filesOf(join(root, repo.name)));
    github.addRepo("other/not-listed", { "go.mod": "module x\n" });
    const apiUrl = await github.start();
    const { stdout } = await run(process.execPath, [BIN, "agents-md", "generate", "--github-org", "acme", "--github-api-url", apiUrl, "--json", "-d", dataDir], { env: { ...process.env, GITHUB_TOKEN: GH_TOKEN }, maxBuffer: 64 * 1024 * 1024 });
    const report = JSON.parse(stdout) as { counts: Record<string, number>; steps: { item: string; result: { pr: { action: string } } }[] };
    expect(report.counts).toMatchObject({ done: REPOS, failed: 0 });
    expect(report.steps.map((s) => s.item)).toEqual(fleet.map((r) => `github:acme/${r.name}`));
    expect(github.requests.filter((r) => r === "GET /orgs/acme/repos")).toHaveLength(2);
    for (const repo of fleet) {
      const state = github.repos.get(`acme/${repo.name}`);
      expect({ repo: repo.name, pulls: state?.pulls.length }).toEqual({ repo: repo.name, pulls: 1 });
      expect(state?.files.get(AGENTS_MD_BRANCH)?.get("AGENTS.md")?.text, repo.name).toBe(expected.get(repo.name));
    }
    expect(github.repos.get("other/not-listed")?.pulls).toEqual([]);
  });

  it("--gitlab-group: every project of the group and its subgroups (2 pages by x-next-page, a tree over 100 entries) gets one MR with the checkout's bytes", async () => {
    const REPOS = 120;
    const { root, dataDir, fleet, expected } = await fleetWithCatalog(REPOS);
    gitlab = await startFakeGitLab({ token: GL_TOKEN });
    for (const [i, repo] of fleet.entries()) {
      const files = filesOf(join(root, repo.name));
      // One project with a tree of more than 100 entries: the tree is read page by page too.
      if (i === 3) for (let n = 0; n < 150; n++) files[`src/gen${n}.py`] = "";
      gitlab.addProject(i % 2 === 0 ? "platform" : "platform/payments", repo.name, files);
    }
    gitlab.addProject("elsewhere", "not-listed", { "go.mod": "module x\n" });
    gitlab.addProject("platform", "empty", {}, { defaultBranch: null });
    gitlab.addProject("platform", "old", { "go.mod": "module x\n" }, { archived: true });
    const { stdout } = await run(process.execPath, [BIN, "agents-md", "generate", "--gitlab-group", "platform", "--gitlab-api-url", gitlab.apiUrl, "--json", "-d", dataDir], { env: { ...process.env, GITLAB_TOKEN: GL_TOKEN }, maxBuffer: 64 * 1024 * 1024 });
    const report = JSON.parse(stdout) as { counts: Record<string, number>; steps: { item: string }[] };
    expect(report.counts).toMatchObject({ done: REPOS, failed: 0 });
    const listings = gitlab.requests.filter((r) => r.path === "/api/v4/groups/platform/projects");
    expect(listings.map((r) => r.query.get("page") ?? "1")).toEqual(["1", "2"]);
    const trees = gitlab.requests.filter((r) => r.path.endsWith("/repository/tree") && r.query.get("page") === "2");
    expect(trees).toHaveLength(1);
    for (const project of gitlab.projects.values()) {
      if (["not-listed", "empty", "old"].includes(project.path)) {
        expect(project.mergeRequests).toEqual([]);
        continue;
      }
      const text = project.branches.get(AGENTS_MD_BRANCH)?.get("AGENTS.md");
      expect({ project: project.path, mrs: project.mergeRequests.length }).toEqual({ project: project.path, mrs: 1 });
      if (project.path === "svc-0003") expect(text).toContain("python (");
      else expect(text, project.path).toBe(expected.get(project.path));
    }
  });

  it("refuses to mix a listing with checkouts, and says which token is missing", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-listing-data-"));
    const mixed = await run(process.execPath, [BIN, "agents-md", "generate", ".", "--github-org", "acme", "-d", dataDir]).then(
      () => undefined,
      (err: { stderr: string }) => err,
    );
    expect(mixed?.stderr).toContain("one kind of repo list per run");
    const env = { ...process.env };
    delete env["GITLAB_TOKEN"];
    const noToken = await run(process.execPath, [BIN, "agents-md", "generate", "--gitlab-group", "platform", "-d", dataDir], { env }).then(
      () => undefined,
      (err: { stderr: string }) => err,
    );
    expect(noToken?.stderr).toContain("--gitlab-group needs a token in env GITLAB_TOKEN");
  });
});
