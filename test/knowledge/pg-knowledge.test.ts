import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore } from "../../src/adapters/node/postgres.ts";
import { localCatalogSource } from "../../src/adapters/node/knowledge/local-source.ts";
import { catalogQueries, catalogStore, knowledgeDb, refreshCatalog } from "../../src/knowledge/index.ts";
import type { Database } from "../../src/store/index.ts";
import { startTestDatabase, type TestDatabase } from "../scale/postgres.ts";
import { checkouts, fraudRepo, ledgerRepo, orgRepo, paymentsRepo, StepClock, writeCheckoutFiles } from "./fixtures.ts";

let database: TestDatabase;
let db: Kysely<Database>;

beforeAll(async () => {
  database = await startTestDatabase();
  db = await openPostgresStore(database.url);
}, 120_000);

afterAll(async () => {
  await db?.destroy();
  await database?.close();
});

describe("the catalog on PostgreSQL", { timeout: 120_000 }, () => {
  it("ingests, refreshes incrementally and answers the same queries as on SQLite", async () => {
    const clock = new StepClock();
    const root = checkouts({ "payments/catalog-info.yaml": paymentsRepo, "org/catalog-info.yaml": orgRepo, "fraud/catalog-info.yaml": fraudRepo });
    const source = localCatalogSource({ id: "local", path: root });
    const [first] = await refreshCatalog(catalogStore(db), [source], clock);
    expect(first).toMatchObject({ status: "ok", added: 9, problems: [] });

    clock.t += 1000;
    writeCheckoutFiles(root, { "ledger/catalog-info.yaml": ledgerRepo, "fraud/catalog-info.yaml": fraudRepo.replace("owner: team-risk\n  providesApis", "owner: team-payments\n  providesApis") });
    const [second] = await refreshCatalog(catalogStore(db), [source], clock);
    expect(second).toMatchObject({ added: 1, updated: 1, unchanged: 8, removed: 0 });

    const queries = catalogQueries(db);
    const found = await queries.find({ kind: "component", owner: "team-payments", limit: 10, offset: 0 });
    expect(found).toEqual({ total: 3, items: [expect.objectContaining({ ref: "component:default/fraud" }), expect.objectContaining({ ref: "component:default/ledger" }), expect.objectContaining({ ref: "component:default/payments" })] });
    const walk = await queries.walk("component:default/fraud", ["dependencyOf", "providesApi", "apiConsumedBy"], 2);
    expect(walk.edges.map((e) => `${e.depth} ${e.to}`)).toEqual(["1 api:default/fraud-api", "2 component:default/payments"]);
    expect((await queries.search("payments team", "group", 5)).map((s) => s.ref)).toEqual(["group:default/team-payments"]);
    const sources = await catalogStore(db).sources();
    expect(sources).toEqual([expect.objectContaining({ id: "local", status: "ok", entity_count: 10, last_success_at: clock.t })]);
    expect(typeof sources[0]?.last_attempt_at).toBe("number");
  });

  it("writes without transactions too (the D1 path), ordered so a rerun repairs an interrupted write", async () => {
    const clock = new StepClock();
    const root = checkouts({ "team/catalog-info.yaml": orgRepo.replaceAll("team-payments", "team-search").replace("name: ada", "name: grace").replace("name: engineering", "name: eng2").replace("name: checkout", "name: search") });
    const store = catalogStore(db, { transactions: false });
    const source = localCatalogSource({ id: "team", path: root });
    expect((await refreshCatalog(store, [source], clock))[0]).toMatchObject({ status: "ok", added: 4 });
    // A crash between the relations and the entity row: the row is missing, its relations are there, and the
    // file's clean-read record (written after every entity) was not written either.
    await knowledgeDb(db).deleteFrom("knowledge_entities").where("ref", "=", "user:default/grace").execute();
    await knowledgeDb(db).deleteFrom("knowledge_files").where("source_id", "=", "team").execute();
    const [rerun] = await refreshCatalog(store, [source], clock);
    expect(rerun).toMatchObject({ added: 1, unchanged: 3 });
    const relations = await knowledgeDb(db).selectFrom("knowledge_relations").select(["type", "target_ref"]).where("origin_ref", "=", "user:default/grace").execute();
    expect(relations).toHaveLength(2);
    expect("found" in (await catalogQueries(db).resolve("user:default/grace"))).toBe(true);
  });
});
