import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runReview } from "../run.ts";
import { renderMarkdown } from "../render/index.ts";
import { clock, startModelHarness, type ModelHarness } from "../../../test/review/harness.ts";
import { createRepo, type TestRepo } from "../../../test/review/repo.ts";
import { FakeGitHub } from "../../../test/review/fake-github.ts";
import { FakeGitLab } from "../../../test/review/fake-gitlab.ts";
import { listen, type RunningServer } from "../../../test/review/serve.ts";
import { GitHubPlatform } from "./github.ts";
import { GitLabPlatform } from "./gitlab.ts";
import { usersBefore as base, usersWithInjection as injected } from "../../../test/review/users-fixture.ts";
import type { ReviewPlatform } from "./types.ts";

const fixedInjection = injected.replace("db.query(`SELECT * FROM users WHERE email = '${email}'`)", 'db.query("SELECT * FROM users WHERE email = $1", [email])');
const fixedBoth = fixedInjection.replace(/for \(const id of ids\) \{\n.*\n {2}\}/, 'teams.push(...(await db.query("SELECT * FROM teams WHERE id = ANY($1)", [ids])));');

const injection = { id: "G1", severity: "critical", path: "src/users.ts", line: 4, title: "SQL injection through the email parameter", evidence: "return db.query(`SELECT * FROM users WHERE email = '${email}'`);", suggestion: "Bind it." };
const nPlusOne = { id: "G2", severity: "warning", path: "src/users.ts", line: 10, title: "N+1 query for teams", evidence: 'teams.push(await db.query("SELECT * FROM teams WHERE id = $1", [id]));', suggestion: "One query." };
const commentable = { "src/users.ts": Array.from({ length: 13 }, (_, i) => i + 1) };

// The generalist (trivial tier) answers by what the diff contains.
const script = [
  { reviewer: "generalist", when: "email = '${email}'", turns: [{ findings: [injection, nPlusOne] }] },
  { reviewer: "generalist", when: 'WHERE id = $1", [id]', turns: [{ findings: [nPlusOne] }] },
];

async function review(repo: TestRepo, harness: ModelHarness, platform: ReviewPlatform) {
  const prior = await platform.loadPriorState();
  const result = await runReview({
    git: repo.git,
    base: "main",
    head: "feature",
    config: harness.config({ models: { trivial: ["openai/gpt-5-mini"] }, tiers: { trivialMaxLines: 50, liteMaxLines: 100, smallMaxFiles: 20, fullMinFiles: 50 } }),
    rules: [],
    transport: harness.transport,
    clock,
    prior,
  });
  const outcome = await platform.publish(result, renderMarkdown(result));
  return { result, outcome };
}

describe("GitHub pull request reviews", () => {
  let harness: ModelHarness;
  let github: FakeGitHub;
  let server: RunningServer;
  let repo: TestRepo;
  let platform: GitHubPlatform;

  beforeAll(async () => {
    harness = await startModelHarness(script);
    github = new FakeGitHub({ token: "ghs_token", repository: "acme/users", pullNumber: 7, commentable, forbidApprove: true, pageSize: 1 });
    server = await listen(github.app.fetch);
    repo = createRepo({ "src/users.ts": base, "src/db.ts": "export const db = { query: async (..._a: unknown[]) => [] };\n" }, { "src/users.ts": injected });
    platform = new GitHubPlatform({ apiUrl: server.url, token: "ghs_token", repository: "acme/users", pullNumber: 7 });
  });
  afterAll(async () => {
    await Promise.all([harness.close(), server.close()]);
    repo.remove();
  });

  it("posts one review with inline comments on the right lines and the verdict", async () => {
    const { result, outcome } = await review(repo, harness, platform);
    expect(result.tier.tier).toBe("trivial");
    expect(result.verdict).toBe("requested_changes");
    expect(github.reviews).toHaveLength(1);
    expect(github.reviews[0]?.event).toBe("REQUEST_CHANGES");
    expect(github.reviews[0]?.commit_id).toBe(result.headSha);
    expect(github.comments.map((c) => [c.path, c.line, c.side])).toEqual([
      ["src/users.ts", 4, "RIGHT"],
      ["src/users.ts", 10, "RIGHT"],
    ]);
    expect(outcome.inlineComments).toBe(2);
  });

  it("re-review: fixed findings get resolved, won't-fix is respected, APPROVE falls back to COMMENT", async () => {
    const loop = github.comments.find((c) => c.line === 10);
    github.reply(loop?.id ?? 0, "carol", "Won't fix: ids has at most 3 entries here.");
    repo.push({ "src/users.ts": fixedInjection });
    const { result, outcome } = await review(repo, harness, platform);
    expect(result.fixed.map((f) => f.title)).toEqual([injection.title]);
    expect(result.findings.map((f) => f.status)).toEqual(["respected"]);
    expect(result.verdict).toBe("approved");
    expect(github.reviews[1]?.event).toBe("COMMENT");
    expect(outcome.notes[0]).toContain("GitHub Actions is not permitted to approve");
    const injectionThread = github.comments.find((c) => c.line === 4 && c.in_reply_to_id === undefined);
    expect(github.comments.some((c) => c.in_reply_to_id === injectionThread?.id && c.body.startsWith("✅ Fixed in"))).toBe(true);
    expect(github.resolvedThreads.has(injectionThread?.id ?? 0)).toBe(true);
    // No second inline comment for the respected finding.
    expect(github.comments.filter((c) => c.in_reply_to_id === undefined)).toHaveLength(2);
  });

  it("break glass in a human comment forces approval and is recorded", async () => {
    github.addIssueComment("bob", "Break glass: hotfix for the outage, reviewing after.");
    repo.push({ "src/users.ts": injected });
    const { result } = await review(repo, harness, platform);
    expect(result.findings.find((f) => f.severity === "critical")?.status).toBe("new");
    expect(result.verdict).toBe("approved");
    expect(result.breakGlass?.by).toBe("bob");
    expect(github.reviews[2]?.body).toContain("**Break glass** by @bob");
  });

  it("a thread a human resolved in the UI (GraphQL isResolved) is respected", async () => {
    const reopened = github.comments.filter((c) => c.line === 4 && c.in_reply_to_id === undefined).at(-1);
    github.resolveThread(reopened?.id ?? 0);
    repo.push({ "README.md": "notes\n" });
    const { result } = await review(repo, harness, platform);
    expect(result.findings.map((f) => [f.line, f.status])).toEqual([
      [4, "respected"],
      [10, "respected"],
    ]);
    expect(result.verdict).toBe("approved");
  });
});

describe("GitLab merge request discussions", () => {
  let harness: ModelHarness;
  let gitlab: FakeGitLab;
  let server: RunningServer;
  let repo: TestRepo;
  let platform: GitLabPlatform;

  const refs = async () => ({ base_sha: await repo.git.mergeBase("main", "feature"), start_sha: await repo.git.revParse("main"), head_sha: await repo.git.revParse("feature") });

  beforeAll(async () => {
    harness = await startModelHarness(script);
    repo = createRepo({ "src/users.ts": base }, { "src/users.ts": injected });
    gitlab = new FakeGitLab({ token: "glpat-token", projectId: "acme/users", iid: 3, diffRefs: await refs(), commentable });
    server = await listen(gitlab.app.fetch);
    platform = new GitLabPlatform({ apiUrl: `${server.url}/api/v4`, token: "glpat-token", projectId: "acme/users", mergeRequestIid: 3 });
  });
  afterAll(async () => {
    await Promise.all([harness.close(), server.close()]);
    repo.remove();
  });

  it("posts a summary note and diff discussions positioned with the MR's diff refs", async () => {
    const { outcome } = await review(repo, harness, platform);
    const diffDiscussions = gitlab.discussions.filter((d) => !d.individual_note);
    expect(diffDiscussions.map((d) => [d.notes[0]?.position?.["new_path"], d.notes[0]?.position?.["new_line"], d.notes[0]?.position?.["head_sha"]])).toEqual([
      ["src/users.ts", 4, (await refs()).head_sha],
      ["src/users.ts", 10, (await refs()).head_sha],
    ]);
    expect(gitlab.notes[0]?.body).toContain("Changes requested");
    expect(outcome.inlineComments).toBe(2);
  });

  it("re-review keeps unfixed findings without re-posting, respects a human resolve, resolves fixed threads", async () => {
    const [injectionThread, loopThread] = gitlab.discussions.filter((d) => !d.individual_note);
    gitlab.resolve(injectionThread?.id ?? "", "alice");
    repo.push({ "README.md": "Team loading added.\n" });
    gitlab.setDiffRefs(await refs());
    const second = await review(repo, harness, platform);
    expect(second.result.findings.map((f) => [f.line, f.status])).toEqual([
      [4, "respected"],
      [10, "still-open"],
    ]);
    expect(second.outcome.inlineComments).toBe(0);
    expect(second.result.verdict).toBe("approved_with_comments");

    repo.push({ "src/users.ts": fixedBoth });
    gitlab.setDiffRefs(await refs());
    const third = await review(repo, harness, platform);
    expect(third.result.fixed.map((f) => f.threadId)).toEqual([loopThread?.id]);
    expect(gitlab.discussions.find((d) => d.id === loopThread?.id)?.notes[0]?.resolved).toBe(true);
    expect(third.result.verdict).toBe("approved");
    expect(gitlab.approvedBy).toEqual(["gatehouse-bot"]);
  });
});
