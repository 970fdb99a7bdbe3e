import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { localCatalogSource } from "../../src/adapters/node/knowledge/local-source.ts";
import { openStore } from "../../src/adapters/node/store.ts";
import { AGENTS_MD_BRANCH, readAgentsMdOnGitLabBranch, upsertAgentsMdMergeRequest } from "../../src/agents-md/index.ts";
import { systemClock } from "../../src/core/clock.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { catalogStore, refreshCatalog } from "../../src/knowledge/index.ts";
import { startFakeGitLab, type FakeGitLab } from "../fake-gitlab/index.ts";
import { generateFleet } from "./fleet.ts";

const BIN = fileURLToPath(new URL("../../bin/gatehouse.js", import.meta.url));
const TOKEN = "glpat-fakeTokenForTests0123456789";
let gitlab: FakeGitLab | undefined;
afterEach(async () => {
  await gitlab?.close();
  gitlab = undefined;
});

describe("the AGENTS.md merge request on GitLab", { timeout: 300_000 }, () => {
  it("creates one MR, leaves it alone when nothing changed, updates it (never a second) when the file changed; a closed MR is not reopened", async () => {
    gitlab = await startFakeGitLab({ token: TOKEN });
    const project = gitlab.addProject("platform", "payments", { "README.md": "# payments\n" });
    const target = { apiUrl: gitlab.apiUrl, token: TOKEN, project: "platform/payments" };
    expect(await readAgentsMdOnGitLabBranch(target)).toBeUndefined();
    expect(await upsertAgentsMdMergeRequest(target, "# v1\n")).toMatchObject({ number: 1, action: "created", url: "https://gitlab.example.com/platform/payments/-/merge_requests/1" });
    expect(await upsertAgentsMdMergeRequest(target, "# v1\n")).toMatchObject({ number: 1, action: "unchanged" });
    expect(await upsertAgentsMdMergeRequest({ ...target, project: String(project.id) }, "# v2 — ünïcode\n")).toMatchObject({ number: 1, action: "updated" });
    expect(project.mergeRequests).toHaveLength(1);
    expect(project.mergeRequests[0]).toMatchObject({ source_branch: AGENTS_MD_BRANCH, target_branch: "main", state: "opened", updates: 1 });
    expect(project.commits).toBe(2);
    expect(project.branches.get(AGENTS_MD_BRANCH)?.get("AGENTS.md")).toBe("# v2 — ünïcode\n");
    expect(project.files.has("AGENTS.md")).toBe(false);
    expect(await readAgentsMdOnGitLabBranch(target)).toBe("# v2 — ünïcode\n");
    // Closed by its owners: not reopened; the next run opens a new one, on the same branch.
    if (project.mergeRequests[0]) project.mergeRequests[0].state = "closed";
    expect(await upsertAgentsMdMergeRequest(target, "# v2 — ünïcode\n")).toMatchObject({ number: 2, action: "created" });
    expect(project.mergeRequests.map((mr) => mr.state)).toEqual(["closed", "opened"]);
    expect(project.commits).toBe(2);
  });

  it("an MR opened between the list and the create (409) is found and used, not duplicated", async () => {
    gitlab = await startFakeGitLab({ token: TOKEN });
    const project = gitlab.addProject("platform", "ledger", {});
    const target = { apiUrl: gitlab.apiUrl, token: TOKEN, project: "platform/ledger" };
    await upsertAgentsMdMergeRequest(target, "# v1\n");
    // The next list answers "none open" (a stale replica), so the create meets GitLab's 409.
    gitlab.faults.push({ path: /\/merge_requests\?/, method: "GET", times: 1, fault: { kind: "status", status: 200, body: "[]" } });
    expect(await upsertAgentsMdMergeRequest(target, "# v2\n")).toMatchObject({ number: 1, action: "updated" });
    expect(project.mergeRequests).toHaveLength(1);
  });

  it("a bad token fails with GitLab's message and what to check, never the token", async () => {
    gitlab = await startFakeGitLab({ token: TOKEN });
    gitlab.addProject("platform", "payments", {});
    const error = await upsertAgentsMdMergeRequest({ apiUrl: gitlab.apiUrl, token: "glpat-wrong", project: "platform/payments" }, "x").then(
      () => undefined,
      (err: Error) => err,
    );
    expect(error?.message).toBe("GitLab GET platform/payments: 401 401 Unauthorized (check the token: it needs the api scope and Developer access to the project)");
    expect(error?.message).not.toContain("glpat-");
  });

  it("over a fleet through the CLI, SIGKILL half way and resumed: every project has exactly one MR and one commit", async () => {
    const REPOS = 40;
    gitlab = await startFakeGitLab({ token: TOKEN });
    const root = mkdtempSync(join(tmpdir(), "gatehouse-fleet-mr-"));
    const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-fleet-mr-data-"));
    const fleet = generateFleet(root, REPOS);
    for (const repo of fleet) gitlab.addProject("platform/services", repo.name, { "README.md": "x\n" });
    const db = await openStore(parseSettings({}, { dataDir }));
    try {
      await refreshCatalog(catalogStore(db), [localCatalogSource({ id: "fleet", path: root })], systemClock);
    } finally {
      await db.destroy();
    }
    const gl = gitlab;
    const runCli = (killAt: number | undefined, extra: string[] = []) => {
      const child = spawn(process.execPath, [BIN, "agents-md", "generate", "--catalog", "--json", "--lease-ms", "2000", "--gitlab-namespace", "platform/services", "--gitlab-api-url", gl.apiUrl, "-d", dataDir, ...extra], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, GITLAB_TOKEN: TOKEN },
      });
      let stdout = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", () => {
        if (killAt !== undefined && gl.mergeRequestsCreated >= killAt) child.kill("SIGKILL");
      });
      return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stdout })));
    };
    const first = await runCli(REPOS / 2);
    expect(first.signal).toBe("SIGKILL");
    expect(gitlab.mergeRequestsCreated).toBeLessThan(REPOS);
    const second = await runCli(undefined);
    expect(second.code).toBe(0);
    expect((JSON.parse(second.stdout) as { counts: Record<string, number> }).counts).toMatchObject({ done: REPOS, failed: 0 });
    expect(gitlab.mergeRequestsCreated).toBe(REPOS);
    for (const project of gitlab.projects.values()) {
      expect({ project: project.path, mrs: project.mergeRequests.length, commits: project.commits }).toEqual({ project: project.path, mrs: 1, commits: 1 });
      const owner = fleet.find((r) => r.name === project.path)?.owner ?? "?";
      expect(project.branches.get(AGENTS_MD_BRANCH)?.get("AGENTS.md")).toContain(`owned by \`${owner}\``);
    }
    // A new job over the same fleet changes nothing: no commit, no MR, no update.
    const third = await runCli(undefined, ["--job", "rerun"]);
    expect(third.code).toBe(0);
    const rerun = JSON.parse(third.stdout) as { counts: Record<string, number>; steps: { result: { pr: { action: string } } }[] };
    expect(rerun.counts).toMatchObject({ done: REPOS });
    expect(new Set(rerun.steps.map((s) => s.result.pr.action))).toEqual(new Set(["unchanged"]));
    expect([...gitlab.projects.values()].map((p) => [p.commits, p.mergeRequests.length, p.mergeRequests[0]?.updates])).toEqual(fleet.map(() => [1, 1, 0]));
  });
});
