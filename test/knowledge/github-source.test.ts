import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { localCatalogSource } from "../../src/adapters/node/knowledge/local-source.ts";
import { catalogQueries, catalogStore, refreshCatalog } from "../../src/knowledge/index.ts";
import { githubCatalogSource, type GitHubSourceOptions } from "../../src/knowledge/sources/github.ts";
import { migrateToLatest, type Database } from "../../src/store/index.ts";
import { startFakeGitHub, type FakeGitHub } from "../fake-github/index.ts";
import { checkouts, fraudRepo, ledgerRepo, orgRepo, paymentsRepo, StepClock } from "./fixtures.ts";

const TOKEN = "ghp_fakeTokenThatMustNeverLeak0123456789";
const clock = new StepClock();
let db: Kysely<Database>;
let github: FakeGitHub;

beforeEach(async () => {
  db = openSqlite(join(mkdtempSync(join(tmpdir(), "gatehouse-knowledge-gh-")), "g.db"));
  await migrateToLatest(db);
  github = await startFakeGitHub({ org: "acme", token: TOKEN, perPageMax: 2 });
  github.addRepo("payments", { "catalog-info.yaml": paymentsRepo });
  github.addRepo("org", { "catalog-info.yaml": orgRepo });
  github.addRepo("ledger", { "catalog-info.yaml": ledgerRepo });
  github.addRepo("no-descriptor", { "README.md": "# nothing here" });
  github.addRepo("old", { "catalog-info.yaml": fraudRepo }, { archived: true });
  github.addRepo("forked", { "catalog-info.yaml": fraudRepo }, { fork: true });
});
afterEach(async () => {
  await github.close();
  await db.destroy();
});

function source(extra: Partial<GitHubSourceOptions> = {}) {
  const slept: number[] = [];
  const deps = { sleep: (ms: number) => (slept.push(ms), Promise.resolve()), timeoutMs: 2_000, ...extra.deps };
  return { slept, source: githubCatalogSource({ id: "github:acme", apiUrl: github.url, org: "acme", token: TOKEN, ...extra, deps }) };
}

const contentsRequests = (): number => github.requests.filter((r) => r.path.includes("/contents/")).length;

describe("GitHub catalog source (fake GitHub, documented wire format)", () => {
  it("reads catalog-info.yaml of every repository over every page, skipping archived repositories and forks", async () => {
    const [report] = await refreshCatalog(catalogStore(db), [source().source], clock);
    expect(report).toMatchObject({ status: "ok", files: 3, entities: 8, added: 8, problems: [] });
    // 6 repositories, 2 per page: three listing pages followed through the Link header.
    expect(github.requests.filter((r) => r.path === "/orgs/acme/repos").map((r) => r.query.get("page") ?? "1")).toEqual(["1", "2", "3"]);
    expect(github.requests.every((r) => r.headers["authorization"] === `Bearer ${TOKEN}` && r.headers["x-github-api-version"] === "2022-11-28")).toBe(true);
    const payments = await catalogQueries(db).resolve("payments");
    expect(payments).toMatchObject({ found: { location: "url:https://github.com/acme/payments/blob/main/catalog-info.yaml" } });
    expect(await catalogQueries(db).resolve("fraud")).toEqual({ missing: "fraud" });
  });

  it("an unchanged organization costs only the listing: no contents request, no parse; a push without a descriptor change costs one 304", async () => {
    const { source: gh } = source();
    await refreshCatalog(catalogStore(db), [gh], clock);
    const firstContents = contentsRequests();
    expect(firstContents).toBe(4);

    const [second] = await refreshCatalog(catalogStore(db), [gh], clock);
    expect(second).toMatchObject({ status: "ok", files: 3, notModified: 3, unchanged: 8, added: 0, updated: 0, removed: 0 });
    // Only the repository without a descriptor is asked again (nothing to remember for it).
    expect(contentsRequests() - firstContents).toBe(1);

    github.touch("payments");
    const before = github.requests.length;
    const [third] = await refreshCatalog(catalogStore(db), [gh], clock);
    expect(third).toMatchObject({ notModified: 3, unchanged: 8, updated: 0 });
    const paymentsAsked = github.requests.slice(before).filter((r) => r.path === "/repos/acme/payments/contents/catalog-info.yaml");
    expect(paymentsAsked).toHaveLength(1);
    expect(paymentsAsked[0]?.headers["if-none-match"]).toMatch(/^W\/"[0-9a-f]{40}o"$/);

    github.push("ledger", "catalog-info.yaml", ledgerRepo.replace("lifecycle: production", "lifecycle: deprecated"));
    github.push("org", "catalog-info.yaml", undefined);
    const [fourth] = await refreshCatalog(catalogStore(db), [gh], clock);
    expect(fourth).toMatchObject({ status: "ok", updated: 1, removed: 4, notModified: 1 });
    expect(await catalogQueries(db).resolve("group:default/team-payments")).toEqual({ missing: "group:default/team-payments" });
  });

  it("malformed YAML in one repository of many is that repository's problem: the others apply, its old entities stay", async () => {
    for (let i = 0; i < 20; i += 1) github.addRepo(`svc-${String(i).padStart(2, "0")}`, { "catalog-info.yaml": ledgerRepo.replace("name: ledger", `name: svc-${i}`) });
    const { source: gh } = source();
    await refreshCatalog(catalogStore(db), [gh], clock);
    github.push("payments", "catalog-info.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: [unclosed\n");
    github.push("svc-07", "catalog-info.yaml", ledgerRepo.replace("name: ledger", "name: svc-7").replace("lifecycle: production", "lifecycle: experimental"));
    const [report] = await refreshCatalog(catalogStore(db), [gh], clock);
    expect(report).toMatchObject({ status: "ok", updated: 1, removed: 0 });
    expect(report?.problems).toEqual([{ location: "url:https://github.com/acme/payments/blob/main/catalog-info.yaml", message: expect.stringMatching(/^YAML document 1/) }]);
    expect("found" in (await catalogQueries(db).resolve("component:default/payments"))).toBe(true);
    expect("found" in (await catalogQueries(db).resolve("api:default/payments-api"))).toBe(true);
  });

  it("a descriptor over the size limit is reported without being downloaded or parsed (10 MB, and a small limit)", async () => {
    github.push("payments", "catalog-info.yaml", `${paymentsRepo}\n# ${"x".repeat(10 * 1024 * 1024)}\n`);
    const [report] = await refreshCatalog(catalogStore(db), [source().source], clock);
    expect(report?.problems).toEqual([{ location: "url:https://github.com/acme/payments/blob/main/catalog-info.yaml", message: `acme/payments: catalog-info.yaml is ${10 * 1024 * 1024 + paymentsRepo.length + 4} bytes, over the 1048576-byte limit` }]);
    // Served inline (base64) but over a small configured limit: refused by size before decoding.
    const [small] = await refreshCatalog(catalogStore(db), [source({ id: "github:small", maxFileBytes: 600 }).source], clock);
    expect(small?.problems.map((p) => p.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^acme\/org: catalog-info.yaml is \d+ bytes, over the 600-byte limit$/)]));
  });

  it("the token never appears in a report, a stored status or a problem, even when the server echoes it back", async () => {
    const echo = JSON.stringify({ message: `Bad credentials for token ${TOKEN}`, documentation_url: "https://docs.github.com/rest", status: "401" });
    github.faults.push({ path: /\/repos\/acme\/ledger\/contents/, times: 1, fault: { kind: "status", status: 500, body: JSON.stringify({ message: `upstream saw Authorization: Bearer ${TOKEN}` }) } });
    const [first] = await refreshCatalog(catalogStore(db), [source().source], clock);
    github.faults.push({ path: /^\/orgs\/acme\/repos/, times: 1, fault: { kind: "status", status: 401, body: echo } });
    const [second] = await refreshCatalog(catalogStore(db), [source().source], clock);
    expect(first?.problems[0]?.message).toContain("[redacted]");
    expect(second).toMatchObject({ status: "error", error: expect.stringContaining("HTTP 401 (Bad credentials for token [redacted])") });
    const stored = JSON.stringify(await catalogStore(db).sources());
    for (const text of [JSON.stringify(first), JSON.stringify(second), stored]) expect(text).not.toContain(TOKEN);
  });

  it("a redirect to another host is refused and the other host never sees the token; a same-host redirect (renamed repository) is followed", async () => {
    const seen: string[] = [];
    const other: Server = createServer((req, res) => {
      seen.push(String(req.headers["authorization"] ?? "(none)"));
      res.writeHead(200, { "content-type": "application/json" });
      res.end("[]");
    });
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    const otherUrl = `http://localhost:${(other.address() as AddressInfo).port}`;
    try {
      github.faults.push({ path: /\/repos\/acme\/ledger\/contents/, times: 1, fault: { kind: "redirect", status: 301, location: `${otherUrl}/steal` } });
      github.faults.push({ path: /\/repos\/acme\/org\/contents/, times: 1, fault: { kind: "redirect", status: 307, location: `${github.url}/repos/acme/org/contents/catalog-info.yaml?ref=main` } });
      const [report] = await refreshCatalog(catalogStore(db), [source().source], clock);
      expect(report?.problems).toEqual([{ location: "url:https://github.com/acme/ledger/blob/main/catalog-info.yaml", message: expect.stringContaining(`redirected to another host (${otherUrl}); refused`) }]);
      expect("found" in (await catalogQueries(db).resolve("group:default/team-payments"))).toBe(true);

      github.faults.push({ path: /^\/orgs\/acme\/repos/, times: 1, fault: { kind: "redirect", status: 302, location: `${otherUrl}/orgs/acme/repos` } });
      const [listing] = await refreshCatalog(catalogStore(db), [source().source], clock);
      expect(listing).toMatchObject({ status: "error", error: expect.stringContaining("redirected to another host") });
      expect(seen).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });

  it("a pagination loop fails the source after one round, keeping its entities", async () => {
    const { source: gh } = source();
    await refreshCatalog(catalogStore(db), [gh], clock);
    github.loopPagination = true;
    const before = github.requests.length;
    const [report] = await refreshCatalog(catalogStore(db), [gh], clock);
    expect(report).toMatchObject({ status: "error", error: expect.stringContaining("points back to a page already read") });
    // Pages 1–3, then the link back to page 1 (spelled page=1) once; its next link is a page already read.
    expect(github.requests.length - before).toBe(4);
    expect((await catalogStore(db).sources())[0]).toMatchObject({ status: "error", entity_count: 8 });
    expect("found" in (await catalogQueries(db).resolve("component:default/ledger"))).toBe(true);
  });

  it("401, 5xx and a timeout each fail only this source; a local source beside it refreshes and both keep their entities", async () => {
    const local = localCatalogSource({ id: "local", path: checkouts({ "fraud/catalog-info.yaml": fraudRepo }) });
    const { source: gh } = source({ deps: { timeoutMs: 300 } });
    await refreshCatalog(catalogStore(db), [gh, local], clock);
    const failures: Array<[string, (typeof github.faults)[number]["fault"]]> = [
      ["HTTP 401 (Bad credentials)", { kind: "status", status: 401, body: JSON.stringify({ message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" }) }],
      ["HTTP 502", { kind: "status", status: 502, body: "<html>Bad gateway</html>" }],
      ["timed out after 300 ms", { kind: "hang" }],
    ];
    for (const [message, fault] of failures) {
      github.faults.push({ path: /^\/orgs\/acme\/repos/, times: 1, fault });
      const reports = await refreshCatalog(catalogStore(db), [gh, local], clock);
      expect(reports.map((r) => r.status)).toEqual(["error", "ok"]);
      expect(reports[0]?.error).toContain(message);
      expect((await catalogStore(db).sources()).find((s) => s.id === "github:acme")).toMatchObject({ status: "error", entity_count: 8 });
    }
    expect("found" in (await catalogQueries(db).resolve("component:default/payments"))).toBe(true);
    expect("found" in (await catalogQueries(db).resolve("component:default/fraud"))).toBe(true);
    // A 5xx on one repository is that repository's problem only.
    github.faults.push({ path: /\/repos\/acme\/ledger\/contents/, times: 1, fault: { kind: "status", status: 503, body: JSON.stringify({ message: "Service Unavailable" }) } });
    github.touch("ledger");
    const [oneRepo] = await refreshCatalog(catalogStore(db), [gh], clock);
    expect(oneRepo).toMatchObject({ status: "ok", removed: 0, problems: [{ location: "url:https://github.com/acme/ledger/blob/main/catalog-info.yaml", message: "acme/ledger: reading catalog-info.yaml: HTTP 503 (Service Unavailable)" }] });
  });

  it("respects GitHub's rate limits: waits out retry-after and an exhausted window, and fails the source when the reset is too far", async () => {
    github.faults.push({
      path: /\/repos\/acme\/org\/contents/,
      times: 1,
      fault: { kind: "status", status: 403, headers: { "retry-after": "7", "x-ratelimit-remaining": "4000" }, body: JSON.stringify({ message: "You have exceeded a secondary rate limit.", documentation_url: "https://docs.github.com" }) },
    });
    const first = source();
    const [report] = await refreshCatalog(catalogStore(db), [first.source], clock);
    expect(report).toMatchObject({ status: "ok", added: 8, problems: [] });
    expect(first.slept).toEqual([7000]);

    // The window runs out on a success: the next request waits for x-ratelimit-reset.
    let now = Date.parse("2026-06-01T00:00:00Z");
    github.rateLimitRemaining = 1;
    github.rateLimitReset = Math.floor(now / 1000) + 30;
    const waited: number[] = [];
    const gh = githubCatalogSource({
      id: "github:acme",
      apiUrl: github.url,
      org: "acme",
      token: TOKEN,
      deps: {
        now: () => now,
        sleep: (ms) => {
          waited.push(ms);
          now += ms;
          github.rateLimitRemaining = 5000;
          return Promise.resolve();
        },
      },
    });
    github.touch("payments");
    const before = github.requests.length;
    expect((await refreshCatalog(catalogStore(db), [gh], clock))[0]).toMatchObject({ status: "ok", problems: [] });
    expect(waited).toEqual([30_000]);
    // Waited before asking, not after a refusal: 3 listing pages and 2 contents requests (payments, pushed; no-descriptor, always asked), none refused and repeated.
    expect(github.requests.slice(before).map((r) => r.path)).toHaveLength(5);

    // Exhausted with the reset an hour away: the source fails now rather than block the refresh.
    github.rateLimitRemaining = 0;
    github.rateLimitReset = Math.floor(now / 1000) + 3600;
    waited.length = 0;
    const [blocked] = await refreshCatalog(catalogStore(db), [gh], clock);
    expect(blocked).toMatchObject({ status: "error", error: expect.stringMatching(/rate limited by http:\/\/127\.0\.0\.1:\d+ until .* \(3600 s, over the 60 s this refresh waits\)/) });
    expect(waited).toEqual([]);
  });
});
