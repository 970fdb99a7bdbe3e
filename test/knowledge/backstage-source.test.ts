import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { catalogQueries, catalogStore, refreshCatalog } from "../../src/knowledge/index.ts";
import { backstageCatalogSource } from "../../src/knowledge/sources/backstage.ts";
import { migrateToLatest, type Database } from "../../src/store/index.ts";
import { backstageInstalled, startBackstage, type BackstageBackend } from "./backstage-backend.ts";
import { ledgerRepo, orgRepo, paymentsRepo, StepClock } from "./fixtures.ts";

const TOKEN = "backstage-static-token-that-must-never-leak";
const clock = new StepClock();

async function freshDb(): Promise<Kysely<Database>> {
  const db = openSqlite(join(mkdtempSync(join(tmpdir(), "gatehouse-knowledge-bs-")), "g.db"));
  await migrateToLatest(db);
  return db;
}

if (!backstageInstalled()) throw new Error("tools/backstage is not installed: run `bash .ci/backstage-deps.sh` (npm test runs it first)");

// A real Backstage backend starts in a child process: generous time on a loaded 2-core machine.
describe("Backstage catalog source against a real Backstage catalog backend (backend-defaults + plugin-catalog-backend, SQLite)", { timeout: 180_000 }, () => {
  let backstage: BackstageBackend;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "gatehouse-backstage-locations-"));
    for (const [name, text] of [
      ["payments", paymentsRepo],
      ["org", orgRepo],
      ["ledger", ledgerRepo],
    ] as const)
      writeFileSync(join(dir, `${name}.yaml`), text);
    backstage = await startBackstage(
      ["payments", "org", "ledger"].map((name) => join(dir, `${name}.yaml`)),
      { token: TOKEN },
    );
    await backstage.waitFor((items) => items.filter((e) => e.kind !== "Location").length === 8, "the 8 entities of the three files");
  }, 180_000);
  afterAll(async () => {
    await backstage?.stop();
  });

  it("ingests every entity over cursor pages, validated with catalog-model, relations derived; a second read writes nothing; a change is one update", async () => {
    const db = await freshDb();
    try {
      const source = backstageCatalogSource({ id: "backstage", url: backstage.url, token: TOKEN, pageSize: 3 });
      const [first] = await refreshCatalog(catalogStore(db), [source], clock);
      // The 8 entities of the files, plus the Location entities Backstage makes for each registered file.
      expect(first?.error).toBeUndefined();
      expect(first).toMatchObject({ status: "ok", problems: [] });
      expect(first?.added).toBeGreaterThanOrEqual(8);
      const queries = catalogQueries(db);
      expect((await queries.related("component:default/payments", ["ownedBy"])).map((r) => r.target)).toEqual(["group:default/team-payments"]);
      expect((await queries.related("component:default/ledger", ["dependencyOf"])).map((r) => r.target)).toEqual(["component:default/payments"]);
      expect(await queries.resolve("payments")).toMatchObject({ found: { location: `url:${backstage.url}/api/catalog/entities/by-name/component/default/payments` } });

      const [second] = await refreshCatalog(catalogStore(db), [source], clock);
      expect(second).toMatchObject({ status: "ok", added: 0, updated: 0, removed: 0, unchanged: first?.added });

      writeFileSync(join(dir, "ledger.yaml"), ledgerRepo.replace("name: ledger\n", "name: ledger\n  description: Double-entry ledger, rewritten\n"));
      await backstage.refresh("component:default/ledger");
      await backstage.waitFor((items) => items.some((e) => e.metadata.name === "ledger" && e.metadata.description === "Double-entry ledger, rewritten"), "the ledger's new description");
      const [third] = await refreshCatalog(catalogStore(db), [source], clock);
      expect(third).toMatchObject({ status: "ok", added: 0, updated: 1, removed: 0 });
    } finally {
      await db.destroy();
    }
  });

  it("a wrong token fails the source with Backstage's 401, keeps the entities, and the token appears nowhere", async () => {
    const db = await freshDb();
    try {
      await refreshCatalog(catalogStore(db), [backstageCatalogSource({ id: "backstage", url: backstage.url, token: TOKEN })], clock);
      const wrong = `${TOKEN}-wrong`;
      const [report] = await refreshCatalog(catalogStore(db), [backstageCatalogSource({ id: "backstage", url: backstage.url, token: wrong })], clock);
      expect(report).toMatchObject({ status: "error", error: expect.stringMatching(/401/) });
      expect(JSON.stringify(report)).not.toContain(TOKEN);
      expect((await catalogStore(db).sources())[0]).toMatchObject({ status: "error", entity_count: expect.any(Number) });
      expect("found" in (await catalogQueries(db).resolve("component:default/payments"))).toBe(true);
    } finally {
      await db.destroy();
    }
  });
});

describe("Backstage catalog source against recorded answers of /api/catalog/entities/by-query", () => {
  let server: Server;
  let url: string;
  let answers: Array<{ status: number; body: unknown }> = [];
  const asked: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      asked.push(req.url ?? "");
      const answer = answers.shift() ?? { status: 500, body: { error: { name: "Error", message: "no recorded answer" } } };
      res.writeHead(answer.status, { "content-type": "application/json; charset=utf-8" });
      res.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  // The shape recorded from the real backend above: items, totalItems, pageInfo.nextCursor.
  const group = {
    apiVersion: "backstage.io/v1alpha1",
    kind: "Group",
    metadata: { namespace: "default", name: "team-a", uid: "4586ad15-4d8f-4c49-99ab-2328e69e02f2", etag: "46dd9287a9fb4ec6fdd0c6dbd04d3f8fdfe33112" },
    spec: { type: "team", children: [] },
    relations: [],
  };

  it("a cursor that repeats fails the source instead of looping", async () => {
    const db = await freshDb();
    try {
      answers = [
        { status: 200, body: { items: [group], totalItems: 0, pageInfo: { nextCursor: "c1" } } },
        { status: 200, body: { items: [], totalItems: 0, pageInfo: { nextCursor: "c1" } } },
      ];
      const [report] = await refreshCatalog(catalogStore(db), [backstageCatalogSource({ id: "bs", url, token: TOKEN })], clock);
      expect(report).toMatchObject({ status: "error", error: expect.stringContaining("the next cursor repeats one already read") });
      expect(asked.slice(-2).map((u) => new URL(u, url).searchParams.get("cursor"))).toEqual([null, "c1"]);
    } finally {
      await db.destroy();
    }
  });

  it("an entity the catalog model refuses is reported by its ref location; the rest apply", async () => {
    const db = await freshDb();
    try {
      answers = [{ status: 200, body: { items: [group, { ...group, metadata: { ...group.metadata, name: "not a valid name" } }], totalItems: 0, pageInfo: {} } }];
      const [report] = await refreshCatalog(catalogStore(db), [backstageCatalogSource({ id: "bs", url, token: TOKEN })], clock);
      expect(report).toMatchObject({ status: "ok", added: 1 });
      expect(report?.problems).toEqual([{ location: `url:${url}/api/catalog/entities/by-name/group/default/not a valid name#1`, message: expect.stringContaining('Group "not a valid name"') }]);
      expect(new URL(asked.at(-1) ?? "", url).searchParams.getAll("filter")).toEqual(["kind=Component,kind=API,kind=Resource,kind=System,kind=Domain,kind=Group,kind=User,kind=Location"]);
    } finally {
      await db.destroy();
    }
  });
});
