import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { openPostgresStore } from "../../src/adapters/node/postgres.ts";
import { KnowledgeRefreshLoop, knowledgeLeaseName, markRefreshed, nextDelayMs } from "../../src/adapters/node/knowledge/refresh-loop.ts";
import { configuredSource } from "../../src/adapters/node/knowledge/configured-sources.ts";
import type { Logger } from "../../src/core/logger.ts";
import { orgConfigSchema, type OrgConfig } from "../../src/config/index.ts";
import { catalogQueries, catalogStore, refreshCatalog, type SourceRefreshReport } from "../../src/knowledge/index.ts";
import { localCatalogSource } from "../../src/adapters/node/knowledge/local-source.ts";
import { knowledgeConfigSchema } from "../../src/config/knowledge-schema.ts";
import { migrateToLatest, type Database } from "../../src/store/index.ts";
import { startFakeGitHub, type FakeGitHub } from "../fake-github/index.ts";
import { startTestDatabase, type TestDatabase } from "../scale/postgres.ts";
import { checkouts, fraudRepo, ledgerRepo, orgRepo, paymentsRepo, StepClock } from "./fixtures.ts";

const TOKEN = "ghp_loopTokenThatMustNeverLeak9876543210";
const MINUTE = 60_000;

class CollectingLogger implements Logger {
  lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  debug = (fields: Record<string, unknown>, message: string) => void this.lines.push({ level: "debug", fields, message });
  info = (fields: Record<string, unknown>, message: string) => void this.lines.push({ level: "info", fields, message });
  warn = (fields: Record<string, unknown>, message: string) => void this.lines.push({ level: "warn", fields, message });
  error = (fields: Record<string, unknown>, message: string) => void this.lines.push({ level: "error", fields, message });
}

function orgConfig(github: FakeGitHub, local: string, refresh: Record<string, unknown> = {}): OrgConfig {
  return orgConfigSchema.parse({
    knowledge: {
      sources: [
        { type: "github", name: "acme", org: "acme", apiUrl: github.url, tokenSecret: "GITHUB_CATALOG_TOKEN" },
        { type: "local", name: "checkouts", path: local },
      ],
      refresh: { intervalMinutes: 60, jitter: 0.1, retryMinutes: 1, maxRetryMinutes: 8, ...refresh },
    },
  });
}

const secrets = { get: (name: string) => (name === "GITHUB_CATALOG_TOKEN" ? TOKEN : undefined) };

async function leaseExpiry(db: Kysely<Database>, source: string): Promise<number | undefined> {
  const row = await db.selectFrom("cluster_leases").select("expires_at").where("name", "=", knowledgeLeaseName(source)).executeTakeFirst();
  return row === undefined ? undefined : Number(row.expires_at);
}

const listings = (github: FakeGitHub): number => github.requests.filter((r) => r.path === "/orgs/acme/repos").length;

describe("knowledge config", () => {
  it("refuses a token where its name belongs, plain http to another host, and a name used twice", () => {
    const base = { type: "github", name: "acme", org: "acme", tokenSecret: "GITHUB_TOKEN" };
    expect(knowledgeConfigSchema.safeParse({ sources: [base] }).success).toBe(true);
    const issues = (input: unknown): string[] => {
      const parsed = knowledgeConfigSchema.safeParse(input);
      return parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
    };
    expect(issues({ sources: [{ ...base, tokenSecret: "ghp_abcdefabcdef0123456789" }] })).toEqual([expect.stringContaining("looks like a token")]);
    expect(issues({ sources: [{ ...base, apiUrl: "http://github.internal" }] })).toEqual([expect.stringContaining("must be https://")]);
    expect(issues({ sources: [{ ...base, apiUrl: "http://127.0.0.1:9999" }] })).toEqual([]);
    expect(issues({ sources: [base, { type: "gitlab", name: "acme", group: "x", tokenSecret: "GITLAB_TOKEN" }] })).toEqual([expect.stringContaining('"acme" is defined twice')]);
    expect(issues({ sources: [{ type: "local", name: "x", path: "/src", token: "t" }] })).toEqual([expect.stringMatching(/Unrecognized key/)]);
  });

  it("delays: the interval jittered within ±jitter after a success; retries double from retryMinutes up to maxRetryMinutes", () => {
    const refresh = knowledgeConfigSchema.parse({ refresh: { intervalMinutes: 60, jitter: 0.1, retryMinutes: 1, maxRetryMinutes: 8 } }).refresh;
    expect([nextDelayMs(refresh, 0, 0), nextDelayMs(refresh, 0, 0.5), nextDelayMs(refresh, 0, 1)]).toEqual([54 * MINUTE, 60 * MINUTE, 66 * MINUTE]);
    expect([1, 2, 3, 4, 5, 9].map((failures) => nextDelayMs(refresh, failures, 0.5) / MINUTE)).toEqual([1, 2, 4, 8, 8, 8]);
  });
});

describe("periodic refresh in serve (SQLite)", () => {
  let db: Kysely<Database>;
  let github: FakeGitHub;
  let local: string;
  const clock = new StepClock();
  beforeEach(async () => {
    db = openSqlite(join(mkdtempSync(join(tmpdir(), "gatehouse-knowledge-loop-")), "g.db"));
    await migrateToLatest(db);
    github = await startFakeGitHub({ org: "acme", token: TOKEN });
    github.addRepo("payments", { "catalog-info.yaml": paymentsRepo });
    github.addRepo("org", { "catalog-info.yaml": orgRepo });
    local = checkouts({ "ledger/catalog-info.yaml": ledgerRepo });
  });
  afterEach(async () => {
    await github.close();
    await db.destroy();
  });

  it("refreshes each configured source when due, one at a time in config order, and not again before its jittered interval", async () => {
    const logger = new CollectingLogger();
    const order: string[] = [];
    let active = 0;
    const loop = new KnowledgeRefreshLoop({
      db,
      config: { current: () => orgConfig(github, local) },
      secrets,
      logger,
      clock,
      random: () => 1,
      buildSource: (config) => {
        const source = configuredSource(config, secrets);
        return {
          ...source,
          read: async (context) => {
            active += 1;
            order.push(config.name);
            // One at a time: never two reads in flight.
            expect(active).toBe(1);
            try {
              return await source.read(context);
            } finally {
              active -= 1;
            }
          },
        };
      },
    });
    await loop.tick();
    expect(order).toEqual(["acme", "checkouts"]);
    expect(await leaseExpiry(db, "acme")).toBe(clock.t + 66 * MINUTE);
    expect((await catalogStore(db).sources()).map((s) => [s.id, s.status, s.entity_count])).toEqual([
      ["acme", "ok", 7],
      ["checkouts", "ok", 1],
    ]);
    expect(logger.lines.filter((l) => l.message === "knowledge source refreshed").map((l) => l.fields["source"])).toEqual(["acme", "checkouts"]);

    clock.t += 65 * MINUTE;
    await loop.tick();
    expect(order).toHaveLength(2);
    clock.t += 2 * MINUTE;
    github.push("payments", "catalog-info.yaml", paymentsRepo.replace("lifecycle: production", "lifecycle: deprecated"));
    await loop.tick();
    expect(order).toEqual(["acme", "checkouts", "acme", "checkouts"]);
    expect(loop.lastReports.get("acme")).toMatchObject({ status: "ok", updated: 1 });
  });

  it("a failing source backs off (1, 2, 4 … min) while the others keep their schedule, and its token never reaches a log line", async () => {
    const logger = new CollectingLogger();
    const loop = new KnowledgeRefreshLoop({ db, config: { current: () => orgConfig(github, local) }, secrets, logger, clock, random: () => 0.5 });
    await loop.tick();
    const echo = { kind: "status" as const, status: 401, body: JSON.stringify({ message: `Bad credentials: ${TOKEN}`, status: "401" }) };
    github.faults.push({ path: /^\/orgs\/acme\/repos/, times: 3, fault: echo });
    const delays: number[] = [];
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const expiry = (await leaseExpiry(db, "acme")) ?? 0;
      clock.t = expiry;
      await loop.tick();
      delays.push(((await leaseExpiry(db, "acme")) ?? 0) - clock.t);
    }
    // Three failures (1, 2, 4 minutes), then a success back on the hourly interval.
    expect(delays).toEqual([1 * MINUTE, 2 * MINUTE, 4 * MINUTE, 60 * MINUTE]);
    const failures = logger.lines.filter((l) => l.level === "warn");
    expect(failures).toHaveLength(3);
    expect(failures[0]?.fields["error"]).toContain("HTTP 401 (Bad credentials: [redacted])");
    expect(JSON.stringify(logger.lines)).not.toContain(TOKEN);
    expect(JSON.stringify(await catalogStore(db).sources())).not.toContain(TOKEN);
    // The local source kept its hourly schedule: refreshed at the start and at the hour (with the first failure), not at the retries.
    expect(logger.lines.filter((l) => l.message === "knowledge source refreshed" && l.fields["source"] === "checkouts")).toHaveLength(2);
    expect("found" in (await catalogQueries(db).resolve("component:default/payments"))).toBe(true);
  });

  it("a source taken out of the config loses its entities at the next round; a configured source that fails keeps its own; an ad-hoc local: source is left alone", async () => {
    const logger = new CollectingLogger();
    let config = orgConfig(github, local);
    const loop = new KnowledgeRefreshLoop({ db, config: { current: () => config }, secrets, logger, clock, random: () => 0.5 });
    await loop.tick();
    const adHoc = checkouts({ "fraud/catalog-info.yaml": fraudRepo });
    await refreshCatalog(catalogStore(db), [localCatalogSource({ id: `local:${adHoc}`, path: adHoc })], clock);
    const resolves = async (ref: string) => "found" in (await catalogQueries(db).resolve(ref));
    expect([await resolves("component:default/payments"), await resolves("component:default/ledger"), await resolves("component:default/fraud")]).toEqual([true, true, true]);

    // checkouts removed from the config; acme (still configured) now failing.
    config = orgConfigSchema.parse({ knowledge: { ...orgConfig(github, local).knowledge, sources: [{ type: "github", name: "acme", org: "acme", apiUrl: github.url, tokenSecret: "GITHUB_CATALOG_TOKEN" }] } });
    github.faults.push({ path: /^\/orgs\/acme\/repos/, times: 1, fault: { kind: "status", status: 502, body: "{}" } });
    clock.t = (await leaseExpiry(db, "acme")) ?? 0;
    await loop.tick();
    expect(loop.lastReports.get("acme")).toMatchObject({ status: "error" });
    expect(loop.lastRemoved).toEqual([{ sourceId: "checkouts", removed: 1 }]);
    expect([await resolves("component:default/payments"), await resolves("component:default/ledger"), await resolves("component:default/fraud")]).toEqual([true, false, true]);
    expect((await catalogStore(db).sources()).map((s) => [s.id, s.status])).toEqual([
      ["acme", "error"],
      [`local:${adHoc}`, "ok"],
    ]);
    expect(logger.lines.filter((l) => l.message.includes("no longer configured")).map((l) => l.fields)).toEqual([{ source: "checkouts", removed: 1 }]);
    // Nothing left to prune: the next round removes nothing more.
    await loop.tick();
    expect(loop.lastRemoved).toHaveLength(1);

    // The whole knowledge section gone: every configured source's entities go, the ad-hoc one stays.
    config = orgConfigSchema.parse({});
    await loop.tick();
    expect(loop.lastRemoved.map((r) => r.sourceId)).toEqual(["checkouts", "acme"]);
    expect([await resolves("component:default/payments"), await resolves("component:default/fraud")]).toEqual([false, true]);
  });

  it("a refresh from the CLI (cron, CI) moves the source's next due time, so serve does not repeat it at once", async () => {
    const config = orgConfig(github, local);
    const refresh = config.knowledge?.refresh;
    if (!refresh) throw new Error("config without knowledge");
    const report = { status: "ok" } as SourceRefreshReport;
    await markRefreshed(db, "acme", refresh, report, clock.t, 0.5);
    const loop = new KnowledgeRefreshLoop({ db, config: { current: () => config }, secrets, logger: new CollectingLogger(), clock });
    await loop.tick();
    expect(listings(github)).toBe(0);
    expect(loop.lastReports.has("checkouts")).toBe(true);
  });
});

describe("periodic refresh with several instances on PostgreSQL", { timeout: 120_000 }, () => {
  let database: TestDatabase;
  let dbs: Kysely<Database>[] = [];
  beforeAll(async () => {
    database = await startTestDatabase();
    dbs = [await openPostgresStore(database.url), await openPostgresStore(database.url), await openPostgresStore(database.url)];
  }, 120_000);
  afterAll(async () => {
    for (const db of dbs) await db.destroy();
    await database?.close();
  });

  it("three instances polling at once: each source is refreshed by exactly one of them per interval", async () => {
    const github = await startFakeGitHub({ org: "acme", token: TOKEN });
    try {
      github.addRepo("payments", { "catalog-info.yaml": paymentsRepo });
      github.addRepo("fraud", { "catalog-info.yaml": fraudRepo });
      const local = checkouts({ "ledger/catalog-info.yaml": ledgerRepo });
      const clock = new StepClock();
      const config = orgConfig(github, local);
      const reads: string[] = [];
      const loops = dbs.map(
        (db, index) =>
          new KnowledgeRefreshLoop({
            db,
            config: { current: () => config },
            secrets,
            logger: new CollectingLogger(),
            clock,
            instanceId: `instance-${index}`,
            buildSource: (sourceConfig) => {
              const source = configuredSource(sourceConfig, secrets);
              return { ...source, read: (context) => (reads.push(`${index}:${sourceConfig.name}`), source.read(context)) };
            },
          }),
      );
      for (let round = 0; round < 3; round += 1) {
        await Promise.all(loops.map((loop) => loop.tick()));
        clock.t += 10 * MINUTE;
      }
      // Three rounds within the interval, three instances: one read per source in all.
      expect(reads.map((r) => r.split(":")[1]).sort()).toEqual(["acme", "checkouts"]);
      expect(listings(github)).toBe(1);
      clock.t += 60 * MINUTE;
      await Promise.all(loops.map((loop) => loop.tick()));
      expect(reads.map((r) => r.split(":")[1]).sort()).toEqual(["acme", "acme", "checkouts", "checkouts"]);
      expect("found" in (await catalogQueries(dbs[0] as Kysely<Database>).resolve("component:default/fraud"))).toBe(true);
    } finally {
      await github.close();
    }
  });
});
