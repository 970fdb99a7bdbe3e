import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { catalogQueries, catalogStore, refreshCatalog } from "../../src/knowledge/index.ts";
import { gitlabCatalogSource, type GitLabSourceOptions } from "../../src/knowledge/sources/gitlab.ts";
import { migrateToLatest, type Database } from "../../src/store/index.ts";
import { startFakeGitLab, type FakeGitLab, type FakeGitLabProject } from "../fake-gitlab/index.ts";
import { fraudRepo, ledgerRepo, orgRepo, paymentsRepo, StepClock } from "./fixtures.ts";

const TOKEN = "glpat-fakeTokenThatMustNeverLeak012345";
const clock = new StepClock();
let db: Kysely<Database>;
let gitlab: FakeGitLab;
let payments: FakeGitLabProject;
let ledger: FakeGitLabProject;

beforeEach(async () => {
  db = openSqlite(join(mkdtempSync(join(tmpdir(), "gatehouse-knowledge-gl-")), "g.db"));
  await migrateToLatest(db);
  gitlab = await startFakeGitLab({ token: TOKEN, perPageMax: 2 });
  payments = gitlab.addProject("platform", "payments", { "catalog-info.yaml": paymentsRepo });
  gitlab.addProject("platform/people", "org", { "catalog-info.yaml": orgRepo });
  ledger = gitlab.addProject("platform", "ledger", { "catalog-info.yaml": ledgerRepo });
  gitlab.addProject("platform", "empty", {}, { defaultBranch: null });
  gitlab.addProject("platform", "old", { "catalog-info.yaml": fraudRepo }, { archived: true });
  gitlab.addProject("elsewhere", "fraud", { "catalog-info.yaml": fraudRepo });
});
afterEach(async () => {
  await gitlab.close();
  await db.destroy();
});

function source(extra: Partial<GitLabSourceOptions> = {}) {
  const slept: number[] = [];
  const deps = { sleep: (ms: number) => (slept.push(ms), Promise.resolve()), timeoutMs: 2_000, ...extra.deps };
  return { slept, source: gitlabCatalogSource({ id: "gitlab:platform", apiUrl: gitlab.apiUrl, group: "platform", token: TOKEN, ...extra, deps }) };
}

const rawRequests = (): number => gitlab.requests.filter((r) => r.path.endsWith("/raw")).length;

describe("GitLab catalog source (fake GitLab, documented wire format)", () => {
  it("reads the group's projects and subgroups over every page, skipping archived and empty projects", async () => {
    const [report] = await refreshCatalog(catalogStore(db), [source().source], clock);
    expect(report).toMatchObject({ status: "ok", files: 3, entities: 8, added: 8, problems: [] });
    expect(gitlab.requests.filter((r) => r.path === "/api/v4/groups/platform/projects").map((r) => r.query.get("page") ?? "1")).toEqual(["1", "2"]);
    expect(gitlab.requests.every((r) => r.headers["private-token"] === TOKEN && r.headers["authorization"] === undefined)).toBe(true);
    expect(await catalogQueries(db).resolve("ledger")).toMatchObject({ found: { location: "url:https://gitlab.example.com/platform/ledger/-/blob/main/catalog-info.yaml" } });
    expect(await catalogQueries(db).resolve("fraud")).toEqual({ missing: "fraud" });
  });

  it("an unchanged project costs one HEAD (same blob id) and no download; a changed descriptor is downloaded", async () => {
    const { source: gl } = source();
    await refreshCatalog(catalogStore(db), [gl], clock);
    expect(rawRequests()).toBe(3);
    const [second] = await refreshCatalog(catalogStore(db), [gl], clock);
    expect(second).toMatchObject({ notModified: 3, unchanged: 8, added: 0, updated: 0 });
    expect(rawRequests()).toBe(3);
    // A commit that leaves the descriptor alone: the blob id is the same.
    gitlab.push(payments.id, "README.md", "# payments");
    gitlab.push(ledger.id, "catalog-info.yaml", ledgerRepo.replace("lifecycle: production", "lifecycle: deprecated"));
    const [third] = await refreshCatalog(catalogStore(db), [gl], clock);
    expect(third).toMatchObject({ notModified: 2, updated: 1 });
    expect(
      gitlab.requests
        .filter((r) => r.path.endsWith("/raw"))
        .map((r) => r.path)
        .slice(3),
    ).toEqual([`/api/v4/projects/${ledger.id}/repository/files/catalog-info.yaml/raw`]);
  });

  it("malformed YAML in one project is that project's problem; a 10 MB descriptor is refused by its X-Gitlab-Size without a download", async () => {
    const { source: gl } = source();
    await refreshCatalog(catalogStore(db), [gl], clock);
    gitlab.push(payments.id, "catalog-info.yaml", "kind: [\n");
    gitlab.push(ledger.id, "catalog-info.yaml", `${ledgerRepo}\n# ${"x".repeat(10 * 1024 * 1024)}\n`);
    const before = rawRequests();
    const [report] = await refreshCatalog(catalogStore(db), [gl], clock);
    expect(report).toMatchObject({ status: "ok", removed: 0 });
    // Files the source could not read come first, then the ones that did not parse.
    expect(report?.problems).toEqual([
      { location: "url:https://gitlab.example.com/platform/ledger/-/blob/main/catalog-info.yaml", message: `platform/ledger: catalog-info.yaml is ${10 * 1024 * 1024 + ledgerRepo.length + 4} bytes, over the 1048576-byte limit` },
      { location: "url:https://gitlab.example.com/platform/payments/-/blob/main/catalog-info.yaml", message: expect.stringMatching(/^YAML document 1/) },
    ]);
    expect(rawRequests() - before).toBe(1);
    expect("found" in (await catalogQueries(db).resolve("component:default/ledger"))).toBe(true);
    expect("found" in (await catalogQueries(db).resolve("api:default/payments-api"))).toBe(true);
  });

  it("a raw answer larger than its size header is cut at the limit, not read whole", async () => {
    // A HEAD that under-reports the size (a proxy, a race with a push): the body cap still holds.
    gitlab.faults.push({ path: /\/repository\/files\/catalog-info\.yaml\?ref=main$/, method: "HEAD", times: 1, fault: { kind: "status", status: 200, headers: { "x-gitlab-blob-id": "a".repeat(40), "x-gitlab-size": "100" } } });
    gitlab.push(payments.id, "catalog-info.yaml", `${paymentsRepo}\n# ${"x".repeat(2 * 1024 * 1024)}\n`);
    const [report] = await refreshCatalog(catalogStore(db), [source().source], clock);
    // Refused by the raw answer's Content-Length before its body is read (a body without one is cut while read: http.test.ts).
    expect(report?.problems).toEqual([{ location: "url:https://gitlab.example.com/platform/payments/-/blob/main/catalog-info.yaml", message: expect.stringMatching(/response is \d+ bytes, over the 1048576-byte limit$/) }]);
  });

  it("401, 5xx, a timeout, a pagination loop and a redirect to another host fail only this source, keep its entities, and never leak the token", async () => {
    const seen: string[] = [];
    const other: Server = createServer((req, res) => {
      seen.push(String(req.headers["private-token"] ?? "(none)"));
      res.end("[]");
    });
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    const otherUrl = `http://localhost:${(other.address() as AddressInfo).port}`;
    try {
      const { source: gl } = source({ deps: { timeoutMs: 300 } });
      await refreshCatalog(catalogStore(db), [gl], clock);
      const cases: Array<[string, () => void]> = [
        ["HTTP 401 (401 Unauthorized)", () => gitlab.faults.push({ path: /\/groups\/platform\/projects/, times: 1, fault: { kind: "status", status: 401, body: JSON.stringify({ message: "401 Unauthorized" }) } })],
        ["HTTP 500 (token [redacted] rejected upstream)", () => gitlab.faults.push({ path: /\/groups\/platform\/projects/, times: 1, fault: { kind: "status", status: 500, body: JSON.stringify({ message: `token ${TOKEN} rejected upstream` }) } })],
        ["timed out after 300 ms", () => gitlab.faults.push({ path: /\/groups\/platform\/projects/, times: 1, fault: { kind: "hang" } })],
        ["points back to a page already read", () => (gitlab.loopPagination = true)],
        ["redirected to another host", () => ((gitlab.loopPagination = false), gitlab.faults.push({ path: /\/groups\/platform\/projects/, times: 1, fault: { kind: "redirect", status: 302, location: `${otherUrl}/api/v4/groups/platform/projects` } }))],
      ];
      for (const [message, arm] of cases) {
        arm();
        const [report] = await refreshCatalog(catalogStore(db), [gl], clock);
        expect(report).toMatchObject({ status: "error", error: expect.stringContaining(message) });
        expect(JSON.stringify(report)).not.toContain(TOKEN);
        expect((await catalogStore(db).sources())[0]).toMatchObject({ status: "error", entity_count: 8 });
      }
      expect(JSON.stringify(await catalogStore(db).sources())).not.toContain(TOKEN);
      expect(seen).toEqual([]);
      // The token revoked between the listing and the files: the source fails, not each project in turn.
      gitlab.faults.push({ path: /\/repository\/files\//, method: "HEAD", times: 10, fault: { kind: "status", status: 401 } });
      const [revoked] = await refreshCatalog(catalogStore(db), [gl], clock);
      expect(revoked).toMatchObject({ status: "error", error: expect.stringContaining("checking catalog-info.yaml: HTTP 401"), problems: [] });
      expect("found" in (await catalogQueries(db).resolve("component:default/payments"))).toBe(true);
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });

  it("waits out a 429's Retry-After, and an exhausted RateLimit window", async () => {
    gitlab.faults.push({ path: /\/repository\/files\/catalog-info\.yaml\/raw/, times: 1, fault: { kind: "status", status: 429, headers: { "retry-after": "3" }, body: "Retry later\n" } });
    const now = Date.parse("2026-06-01T00:00:00Z");
    gitlab.faults.push({
      path: /\/groups\/platform\/projects/,
      times: 1,
      fault: { kind: "status", status: 429, headers: { "ratelimit-remaining": "0", "ratelimit-reset": String(Math.floor(now / 1000) + 20) }, body: "Retry later\n" },
    });
    const { source: gl, slept } = source({ deps: { now: () => now } });
    const [report] = await refreshCatalog(catalogStore(db), [gl], clock);
    expect(report).toMatchObject({ status: "ok", added: 8, problems: [] });
    expect(slept).toEqual([20_000, 3_000]);
  });
});
