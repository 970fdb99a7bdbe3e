// The reviewer fails closed: when it could not look at the whole change (gateway down, a
// model answering garbage, a reviewer, the judge or the coordinator failing) there is no
// verdict, the CLI exits 2 whatever --fail-on says, and nothing says "Approved".
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReviewNotPerformedError } from "./failure.ts";
import type { GitPort } from "./git.ts";
import { GatewayTransport } from "./model/gateway.ts";
import { GitLabPlatform } from "./platforms/gitlab.ts";
import { renderMarkdown, renderNotPerformedMarkdown } from "./render/index.ts";
import { runReview, type ReviewInput } from "./run.ts";
import { FakeGitHub } from "../../test/review/fake-github.ts";
import { FakeGitLab } from "../../test/review/fake-gitlab.ts";
import { clock, gatewayToken, startModelHarness, type ModelHarness } from "../../test/review/harness.ts";
import { createRepo, type TestRepo } from "../../test/review/repo.ts";
import { listen, type RunningServer } from "../../test/review/serve.ts";

const root = join(import.meta.dirname, "../..");
const dataset = join(root, "examples/review-dataset");

const before = "export function parsePort(value: string): number {\n  return Number(value);\n}\n";
const after = "export function parsePort(value: string): number {\n  return parseInt(value);\n}\n";
const portFinding = { id: "1", severity: "critical", path: "src/port.ts", line: 2, title: "parseInt accepts trailing garbage", evidence: "return parseInt(value);", suggestion: "Use Number()." };
// A lite-tier change (quality, docs, security): 12 changed lines.
const liteBefore = Array.from({ length: 12 }, (_, i) => `export const v${i} = ${i};`).join("\n") + "\n";
const liteAfter = Array.from({ length: 12 }, (_, i) => `export const v${i} = ${i * 2};`).join("\n") + "\n";

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>, cwd: string): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, "bin/gatehouse.js"), ...args], { env: { ...process.env, GATEHOUSE_TOKEN: gatewayToken, ...env }, cwd }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

async function notPerformed(run: Promise<unknown>): Promise<ReviewNotPerformedError> {
  const error = await run.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(error instanceof ReviewNotPerformedError)) throw new Error(`expected ReviewNotPerformedError, got ${error instanceof Error ? error.message : JSON.stringify(error)}`);
  return error;
}

describe("runReview fails closed", () => {
  let harness: ModelHarness;
  let trivial: TestRepo;
  let lite: TestRepo;

  beforeAll(async () => {
    harness = await startModelHarness([
      // Prose twice (first answer and the repair turn), on every model of the chain.
      { reviewer: "generalist", when: "garbage-case", turns: [{ text: "LGTM, ship it! 👍" }, { text: "Looks good to me." }] },
      // Findings, but none in the schema, twice.
      { reviewer: "generalist", when: "bad-shape-case", turns: [{ text: '{"findings":[{"file":"src/port.ts","msg":"bad"}]}' }, { text: '{"findings":[{"file":"src/port.ts","msg":"bad"}]}' }] },
      { reviewer: "generalist", turns: [{ findings: [portFinding] }] },
      { reviewer: "coordinator", turns: [{ error: { status: 529, type: "overloaded_error", message: "Overloaded" } }] },
      // Lite tier: security fails on every model; quality finds a critical; docs nothing.
      { reviewer: "security", turns: [{ error: { status: 500, type: "api_error", message: "Internal server error" } }] },
      { reviewer: "quality", turns: [{ findings: [{ id: "Q", severity: "critical", path: "src/values.ts", line: 3, title: "Doubling breaks v2's callers", evidence: "export const v2 = 4;", suggestion: "" }] }] },
    ]);
    trivial = createRepo({ "src/port.ts": before }, { "src/port.ts": after });
    lite = createRepo({ "src/values.ts": liteBefore }, { "src/values.ts": liteAfter });
  });
  afterAll(async () => {
    await harness.close();
    trivial.remove();
    lite.remove();
  });

  const input = (overrides: Partial<ReviewInput> = {}): ReviewInput => ({ git: trivial.git, base: "main", head: "feature", config: harness.config(), rules: [], transport: harness.transport, clock, ...overrides });

  it("an unreachable gateway: every reviewer failed, no verdict", async () => {
    const transport = new GatewayTransport({ baseUrl: `http://127.0.0.1:${await closedPort()}`, token: gatewayToken });
    const failure = await notPerformed(runReview(input({ transport })));
    expect(failure.reasons).toHaveLength(1);
    expect(failure.reasons[0]).toMatch(
      /^the generalist reviewer failed: every model in the chain failed: anthropic\/claude-sonnet-4-5: network error reaching the gateway at http:\/\/127\.0\.0\.1:\d+: fetch failed: connect ECONNREFUSED 127\.0\.0\.1:\d+; openai\/gpt-5-mini: network error/,
    );
    expect(failure.message).toMatch(/^no review was performed: /);
  });

  it("a gateway URL with credentials is refused up front, without repeating them", () => {
    expect(() => new GatewayTransport({ baseUrl: "http://ci:hunter2-secret@127.0.0.1:9/gw/", token: gatewayToken })).toThrow(/^gateway URL must not contain user:password@; the token goes in the variable named by gateway.tokenEnv$/);
    expect(() => new GatewayTransport({ baseUrl: "gatehouse.example.com", token: gatewayToken })).toThrow(/gateway URL is not a URL/);
  });

  it("a rejected gateway token (401) fails the review, it does not approve", async () => {
    const transport = new GatewayTransport({ baseUrl: harness.server.url, token: "not-the-gateway-token" });
    const failure = await notPerformed(runReview(input({ transport })));
    expect(failure.reasons[0]).toContain("HTTP 401");
  });

  it("a model that replies prose (also after the repair turn) fails the review", async () => {
    const failure = await notPerformed(runReview(input({ title: "garbage-case" })));
    expect(failure.reasons).toEqual(['the generalist reviewer failed: gave no usable answer after a repair turn: no JSON object with a "findings" array in the reply']);
    expect(harness.fake.calls.filter((c) => c.reviewer === "generalist" && String(JSON.stringify(c.body)).includes("garbage-case")).map((c) => c.turn)).toEqual([0, 1]);
  });

  it("a reply whose every finding is malformed is not read as 'no findings'", async () => {
    const failure = await notPerformed(runReview(input({ title: "bad-shape-case" })));
    expect(failure.reasons).toEqual(["the generalist reviewer failed: gave no usable answer after a repair turn: none of the 1 finding(s) in the reply matched the finding schema"]);
  });

  it("one failing specialist fails the review even when the others answered", async () => {
    const failure = await notPerformed(runReview(input({ git: lite.git })));
    expect(failure.reasons).toHaveLength(1);
    expect(failure.reasons[0]).toMatch(/^the security reviewer failed: every model in the chain failed: anthropic\/claude-sonnet-4-5: HTTP 500 api_error: Internal server error; openai\/gpt-5-mini: HTTP 500 api_error: Internal server error$/);
    // quality and docs did run: the failure is not a short-circuit of the whole team.
    expect(failure.attempts.filter((a) => a.ok)).toHaveLength(2);
  });

  it("a judge that cannot read the head commit fails the review", async () => {
    const broken: GitPort = {
      revParse: (ref) => trivial.git.revParse(ref),
      mergeBase: (a, b) => trivial.git.mergeBase(a, b),
      diff: (a, b) => trivial.git.diff(a, b),
      listFiles: (ref, dir) => trivial.git.listFiles(ref, dir),
      grep: (ref, pattern, dir) => trivial.git.grep(ref, pattern, dir),
      show: async (ref, path) => {
        if (path === "src/port.ts") throw new Error("git show: object store is corrupt");
        return trivial.git.show(ref, path);
      },
    };
    const failure = await notPerformed(runReview(input({ git: broken })));
    expect(failure.reasons).toEqual(["the judge could not verify the findings: git show: object store is corrupt"]);
  });

  it("a coordinator that fails fails the review (it could have raised a severity)", async () => {
    const failure = await notPerformed(runReview(input({ config: harness.config({ models: { coordinator: ["anthropic/claude-opus-4-1"] } }) })));
    expect(failure.reasons[0]).toMatch(/^the coordinator failed: every model in the chain failed: anthropic\/claude-opus-4-1: HTTP 529 overloaded_error: Overloaded/);
  });

  it("the same change with every part answering is reviewed (the failures above are not the default)", async () => {
    const result = await runReview(input({ config: harness.config({ models: { trivial: ["openai/gpt-5-mini"] } }) }));
    expect(result.verdict).toBe("requested_changes");
  });

  it("the failure comment says no review was performed and never approves", () => {
    const text = renderNotPerformedMarkdown(new ReviewNotPerformedError(["the security reviewer failed: HTTP 500"]));
    expect(text).toContain("No review was performed");
    expect(text).toContain("- the security reviewer failed: HTTP 500");
    expect(text).not.toMatch(/✅|Approved/);
  });
});

describe("GitLab: a failed run withdraws an earlier approval", () => {
  let harness: ModelHarness;
  let gitlab: FakeGitLab;
  let server: RunningServer;
  let repo: TestRepo;

  beforeAll(async () => {
    harness = await startModelHarness([{ reviewer: "generalist", turns: [{ findings: [] }] }]);
    repo = createRepo({ "src/port.ts": before }, { "src/port.ts": after });
    const head = await repo.git.revParse("feature");
    gitlab = new FakeGitLab({ token: "glpat-x", projectId: "7", iid: 3, diffRefs: { base_sha: head, start_sha: head, head_sha: head }, commentable: {} });
    server = await listen(gitlab.app.fetch);
  });
  afterAll(async () => {
    await Promise.all([harness.close(), server.close()]);
    repo.remove();
  });

  it("approves a clean push, then a push that could not be reviewed takes the approval back", async () => {
    const platform = new GitLabPlatform({ apiUrl: `${server.url}/api/v4`, token: "glpat-x", projectId: "7", mergeRequestIid: 3 });
    const clean = await runReview({ git: repo.git, base: "main", head: "feature", config: harness.config(), rules: [], transport: harness.transport, clock });
    await platform.publish(clean, renderMarkdown(clean));
    expect(gitlab.approvedBy).toEqual(["gatehouse-bot"]);

    repo.push({ "src/port.ts": after.replace("parseInt(value)", "parseInt(value, 10)") });
    const down = new GatewayTransport({ baseUrl: `http://127.0.0.1:${await closedPort()}`, token: gatewayToken });
    const failure = await notPerformed(runReview({ git: repo.git, base: "main", head: "feature", config: harness.config(), rules: [], transport: down, clock }));
    const outcome = await platform.publishNotPerformed(renderNotPerformedMarkdown(failure));
    expect(gitlab.approvedBy).toEqual([]);
    expect(outcome.notes).toEqual(["withdrew Gatehouse's earlier approval of this merge request"]);
    expect(gitlab.notes.at(-1)?.body).toContain("No review was performed");
    expect(gitlab.discussions.filter((d) => !d.individual_note)).toEqual([]);
  });
});

// Child processes on a loaded 2-core machine: generous time per test.
describe("gatehouse review / review eval exit non-zero when no review was performed", { timeout: 120_000 }, () => {
  let harness: ModelHarness;
  let work: string;
  let repo: TestRepo;
  let downUrl: string;
  let github: FakeGitHub;
  let githubServer: RunningServer;

  const config = (gatewayUrl: string, extra = "") => {
    const file = join(work, `review-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, `gateway:\n  url: ${gatewayUrl}\nmodels:\n  specialist: [anthropic/claude-sonnet-4-5]\n  trivial: [openai/gpt-5-mini]\n  evalJudge: [anthropic/claude-haiku-4-5]\ncodexDir: ${join(root, "examples/config/codex")}\n${extra}`);
    return file;
  };

  beforeAll(async () => {
    harness = await startModelHarness([
      { reviewer: "generalist", turns: [{ text: "This change looks fine." }, { text: "Approve." }] },
      { reviewer: "eval-judge", turns: [{ text: "Possibly; hard to say." }] },
    ]);
    work = mkdtempSync(join(tmpdir(), "gatehouse-fail-closed-"));
    repo = createRepo({ "src/port.ts": before }, { "src/port.ts": after });
    downUrl = `http://127.0.0.1:${await closedPort()}`;
    github = new FakeGitHub({ token: "ghs_token", repository: "acme/ports", pullNumber: 4, commentable: { "src/port.ts": [1, 2, 3] } });
    githubServer = await listen(github.app.fetch);
  });
  afterAll(async () => {
    await Promise.all([harness.close(), githubServer.close()]);
    repo.remove();
    rmSync(work, { recursive: true, force: true });
  });

  it("unreachable gateway, --fail-on never: exit 2, 'no review was performed', no approval", async () => {
    const run = await cli(["review", "-c", config(downUrl), "--repo", repo.dir, "--base", "main", "--head", "feature", "--fail-on", "never"], {}, work);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain("No review was performed");
    expect(run.stdout).not.toContain("Approved");
    expect(run.stderr).toMatch(/gatehouse review: no review was performed: the generalist reviewer failed: every model in the chain failed: openai\/gpt-5-mini: network error/);
  });

  it("a model replying prose, -f json --fail-on requested_changes: exit 2, performed false, no verdict", async () => {
    const out = join(work, "review.json");
    const run = await cli(["review", "-c", config(harness.server.url), "--repo", repo.dir, "--base", "main", "--head", "feature", "-f", "json", "-o", out, "--fail-on", "requested_changes", "-q"], {}, work);
    expect(run.code).toBe(2);
    const written = JSON.parse(readFileSync(out, "utf8")) as { performed: boolean; verdict: unknown; reasons: string[] };
    expect(written).toMatchObject({ performed: false, verdict: null });
    expect(written.reasons[0]).toContain("gave no usable answer after a repair turn");
  });

  it("SARIF of a failed run marks the invocation unsuccessful instead of an empty clean log", async () => {
    const out = join(work, "review.sarif");
    const run = await cli(["review", "-c", config(downUrl), "--repo", repo.dir, "--base", "main", "--head", "feature", "-f", "sarif", "-o", out, "-q"], {}, work);
    expect(run.code).toBe(2);
    const sarif = JSON.parse(readFileSync(out, "utf8")) as { runs: Array<{ invocations: Array<{ executionSuccessful: boolean }>; results: unknown[] }> };
    expect(sarif.runs[0]?.invocations[0]?.executionSuccessful).toBe(false);
  });

  it("--post github with the gateway down: a plain comment says so, no review (no APPROVE) is created", async () => {
    const event = join(work, "event.json");
    writeFileSync(event, JSON.stringify({ pull_request: { number: 4, title: "Parse ports", body: "" } }));
    const env = { GITHUB_EVENT_PATH: event, GITHUB_TOKEN: "ghs_token", GITHUB_REPOSITORY: "acme/ports", GITHUB_API_URL: githubServer.url, GITHUB_ACTIONS: "true" };
    const run = await cli(["review", "-c", config(downUrl), "--repo", repo.dir, "--base", "main", "--head", "feature", "--post", "github", "-q"], env, work);
    expect(run.code).toBe(2);
    expect(github.reviews).toEqual([]);
    expect(github.issueComments.map((c) => c.body)).toEqual([expect.stringContaining("No review was performed")]);
    expect(run.stderr).toContain("told github that no review was performed");
  });

  it("review eval with the gateway down: exit 2 and no score table", async () => {
    const run = await cli(["review", "eval", dataset, "-c", config(downUrl), "--no-judge"], {}, work);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain("review eval failed: 4 of 4 case(s) could not be reviewed and scored, so there is no score.");
    expect(run.stdout).not.toMatch(/precision|recall|\*\*all\*\*/);
    expect(run.stderr).toContain("gatehouse review eval: failed: 4 case(s) errored");
  });

  it("review eval whose judge model answers neither yes nor no: exit 2, the case errored", async () => {
    const findings = join(work, "findings.json");
    writeFileSync(findings, JSON.stringify({ "billing-rounding": [{ path: "src/invoice.ts", line: 9, title: "Loop reads past the end" }] }));
    const run = await cli(["review", "eval", dataset, "-c", config(harness.server.url), "--findings", findings, "-f", "json"], {}, work);
    expect(run.code).toBe(2);
    const report = JSON.parse(run.stdout) as { complete: boolean; overall: unknown; errored: Array<{ id: string; error: string }> };
    expect(report.complete).toBe(false);
    expect(report.overall).toBeNull();
    expect(report.errored).toEqual([{ id: "billing-rounding", error: expect.stringMatching(/^the eval judge failed: anthropic\/claude-haiku-4-5 answered neither "yes" nor "no"/) }]);
  });
});
