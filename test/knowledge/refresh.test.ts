import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { localCatalogSource } from "../../src/adapters/node/knowledge/local-source.ts";
import { migrateToLatest, type Database } from "../../src/store/index.ts";
import { checkouts, fraudRepo, ledgerRepo, orgRepo, paymentsRepo, StepClock, writeCheckoutFiles } from "./fixtures.ts";
import { catalogQueries, catalogStore, refreshCatalog, type CatalogSource } from "../../src/knowledge/index.ts";
import { knowledgeDb } from "../../src/knowledge/tables.ts";

let db: Kysely<Database>;
const clock = new StepClock();

beforeEach(async () => {
  db = openSqlite(join(mkdtempSync(join(tmpdir(), "gatehouse-knowledge-db-")), "g.db"));
  await migrateToLatest(db);
});
afterEach(async () => {
  await db.destroy();
});

async function relationsOf(ref: string): Promise<string[]> {
  const rows = await knowledgeDb(db).selectFrom("knowledge_relations").select(["type", "target_ref"]).where("source_ref", "=", ref).orderBy("type").orderBy("target_ref").execute();
  return rows.map((row) => `${row.type} ${row.target_ref}`);
}

async function updatedAt(ref: string): Promise<number | undefined> {
  return (await knowledgeDb(db).selectFrom("knowledge_entities").select("updated_at").where("ref", "=", ref).executeTakeFirst())?.updated_at;
}

describe("catalog refresh from local checkouts", () => {
  it("ingests multi-document descriptors, validated, with both directions of every relation", async () => {
    const root = checkouts({ "payments/catalog-info.yaml": paymentsRepo, "org/catalog-info.yaml": orgRepo, "ledger/catalog-info.yml": ledgerRepo, "payments/node_modules/x/catalog-info.yaml": fraudRepo });
    const [report] = await refreshCatalog(catalogStore(db), [localCatalogSource({ id: "local", path: root })], clock);
    expect(report).toMatchObject({ status: "ok", files: 3, entities: 8, added: 8, updated: 0, removed: 0, problems: [] });
    expect(await relationsOf("component:default/payments")).toEqual([
      "consumesApi api:default/fraud-api",
      "dependsOn component:default/ledger",
      "dependsOn resource:default/payments-db",
      "ownedBy group:default/team-payments",
      "partOf system:default/checkout",
      "providesApi api:default/payments-api",
    ]);
    // Reverse directions are stored on the target, so a dependents query is one indexed hop.
    expect(await relationsOf("component:default/ledger")).toContain("dependencyOf component:default/payments");
    expect(await relationsOf("group:default/team-payments")).toEqual(expect.arrayContaining(["ownerOf component:default/payments", "hasMember user:default/ada", "childOf group:default/engineering"]));
    expect(await relationsOf("user:default/ada")).toEqual(["memberOf group:default/team-payments"]);
    // node_modules is never searched: a dependency's descriptor is not ours.
    expect(await catalogQueries(db).resolve("fraud")).toEqual({ missing: "fraud" });
  });

  it("rewrites only changed entities, removes deleted ones, and keeps the rest untouched", async () => {
    const root = checkouts({ "payments/catalog-info.yaml": paymentsRepo, "org/catalog-info.yaml": orgRepo, "ledger/catalog-info.yaml": ledgerRepo });
    const source = localCatalogSource({ id: "local", path: root });
    await refreshCatalog(catalogStore(db), [source], clock);
    const firstLedger = await updatedAt("component:default/ledger");

    clock.t += 60_000;
    // payments re-owned and payments-db deleted; a group retitled; the ledger's keys reordered (same content: no write).
    const changed = paymentsRepo.replace("owner: team-payments\n  system: checkout\n  providesApis", "owner: team-risk\n  system: checkout\n  providesApis").split("---\n").slice(0, 2).join("---\n");
    const reordered = "kind: Component\nspec:\n  owner: team-payments\n  lifecycle: production\n  type: service\nmetadata:\n  name: ledger\napiVersion: backstage.io/v1alpha1\n";
    writeCheckoutFiles(root, { "payments/catalog-info.yaml": changed, "org/catalog-info.yaml": orgRepo.replace("title: Payments team", "title: Payments"), "ledger/catalog-info.yaml": reordered });
    const [again] = await refreshCatalog(catalogStore(db), [source], clock);
    expect(again).toMatchObject({ status: "ok", added: 0, updated: 2, unchanged: 5, removed: 1 });
    expect(await relationsOf("component:default/payments")).toContain("ownedBy group:default/team-risk");
    expect(await relationsOf("component:default/payments")).not.toContain("ownedBy group:default/team-payments");
    expect(await relationsOf("group:default/team-payments")).not.toContain("ownerOf component:default/payments");
    expect(await catalogQueries(db).resolve("resource:default/payments-db")).toEqual({ missing: "resource:default/payments-db" });
    expect(await updatedAt("component:default/ledger")).toBe(firstLedger);
    expect(await updatedAt("group:default/team-payments")).toBe(clock.t);

    clock.t += 60_000;
    const [third] = await refreshCatalog(catalogStore(db), [source], clock);
    expect(third).toMatchObject({ added: 0, updated: 0, removed: 0, unchanged: 7 });
  });

  it("does not parse a file whose text is unchanged since a clean read, and keeps reporting a file that had a problem", async () => {
    const root = checkouts({ "ledger/catalog-info.yaml": ledgerRepo, "bad/catalog-info.yaml": "kind: [" });
    const source = localCatalogSource({ id: "local", path: root });
    expect((await refreshCatalog(catalogStore(db), [source], clock))[0]).toMatchObject({ added: 1, problems: [expect.objectContaining({ location: expect.stringContaining("bad") })] });
    // Had the ledger file been parsed again, this tampered hash would differ from the recomputed one and count as an update.
    await knowledgeDb(db).updateTable("knowledge_entities").set({ hash: "tampered" }).where("ref", "=", "component:default/ledger").execute();
    const [second] = await refreshCatalog(catalogStore(db), [source], clock);
    expect(second).toMatchObject({ unchanged: 1, updated: 0, problems: [expect.objectContaining({ location: expect.stringContaining("bad") })] });
    writeCheckoutFiles(root, { "ledger/catalog-info.yaml": `${ledgerRepo}\n# touched\n` });
    expect((await refreshCatalog(catalogStore(db), [source], clock))[0]).toMatchObject({ updated: 1 });
  });

  it("a failing source neither stops the others nor loses its own entities", async () => {
    const good = checkouts({ "org/catalog-info.yaml": orgRepo });
    const gone = checkouts({ "payments/catalog-info.yaml": paymentsRepo });
    const sources = [localCatalogSource({ id: "gone", path: gone }), localCatalogSource({ id: "good", path: good })];
    await refreshCatalog(catalogStore(db), sources, clock);
    rmSync(gone, { recursive: true, force: true });
    writeCheckoutFiles(good, { "ledger/catalog-info.yaml": ledgerRepo });
    const exploding: CatalogSource = { id: "api", target: "https://backstage.invalid", read: () => Promise.reject(new Error("connect ECONNREFUSED")) };
    const reports = await refreshCatalog(catalogStore(db), [exploding, ...sources], clock);
    expect(reports.map((r) => [r.sourceId, r.status])).toEqual([
      ["api", "error"],
      ["gone", "error"],
      ["good", "ok"],
    ]);
    expect(reports[2]).toMatchObject({ added: 1 });
    expect("found" in (await catalogQueries(db).resolve("component:default/payments"))).toBe(true);
    expect("found" in (await catalogQueries(db).resolve("component:default/ledger"))).toBe(true);
    const status = await catalogStore(db).sources();
    expect(status.find((s) => s.id === "gone")).toMatchObject({ status: "error", entity_count: 3, last_success_at: clock.t });
    expect(status.find((s) => s.id === "api")).toMatchObject({ status: "error", error: "connect ECONNREFUSED", last_success_at: null });
  });

  it("a broken file or invalid document keeps what that file held, and is reported with where it is", async () => {
    const root = checkouts({ "payments/catalog-info.yaml": paymentsRepo, "org/catalog-info.yaml": orgRepo });
    const source = localCatalogSource({ id: "local", path: root });
    await refreshCatalog(catalogStore(db), [source], clock);
    writeCheckoutFiles(root, {
      "payments/catalog-info.yaml": paymentsRepo.replace("kind: API\n", "kind: API\n  bad: [\n"),
      // Second document invalid (name with a space): the other documents still apply, the invalid one's old row stays.
      "org/catalog-info.yaml": orgRepo.replace("name: engineering", "name: not valid").replace("title: Payments team", "title: Payments"),
    });
    const [report] = await refreshCatalog(catalogStore(db), [source], clock);
    expect(report?.status).toBe("ok");
    expect(report?.problems.map((p) => p.location.replace(root, ""))).toEqual(["file:/org/catalog-info.yaml#2", "file:/payments/catalog-info.yaml"]);
    expect(report?.problems[0]?.message).toMatch(/not valid/);
    expect(report).toMatchObject({ removed: 0, updated: 1 });
    expect("found" in (await catalogQueries(db).resolve("group:default/engineering"))).toBe(true);
    expect("found" in (await catalogQueries(db).resolve("resource:default/payments-db"))).toBe(true);
  });

  it("refuses descriptors Backstage refuses: unknown kinds, bad refs, foreign root fields, and the first source keeps a ref", async () => {
    const root = checkouts({
      "a/catalog-info.yaml": ledgerRepo,
      "b/catalog-info.yaml": [
        "apiVersion: backstage.io/v1alpha1\nkind: Widget\nmetadata: { name: w }\nspec: {}",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: c1 }\nspec: { type: service, lifecycle: production, owner: team-a, dependsOn: [just-a-name] }",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: c2 }\nextra: 1\nspec: { type: service, lifecycle: production, owner: team-a }",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: c3 }\nspec: { type: service, owner: team-a }",
      ].join("\n---\n"),
    });
    const other = checkouts({ "ledger/catalog-info.yaml": ledgerRepo.replace("team-payments", "team-other") });
    const reports = await refreshCatalog(catalogStore(db), [localCatalogSource({ id: "first", path: root }), localCatalogSource({ id: "second", path: other })], clock);
    const messages = reports[0]?.problems.map((p) => p.message) ?? [];
    expect(messages).toHaveLength(4);
    expect(messages[0]).toMatch(/Widget.*unsupported/);
    expect(messages[1]).toMatch(/bad ref "just-a-name" in spec.dependsOn.*must name their kind/);
    expect(messages[2]).toMatch(/extra/);
    expect(messages[3]).toMatch(/lifecycle/);
    expect(reports[0]).toMatchObject({ entities: 1 });
    expect(reports[1]?.problems[0]?.message).toMatch(/already provided by source "first"/);
    expect(await relationsOf("component:default/ledger")).toEqual(["ownedBy group:default/team-payments"]);
  });

  it("refuses a symlink out of the checkout and an oversized file", async () => {
    const outside = checkouts({ "catalog-info.yaml": ledgerRepo });
    const root = checkouts({ "big/catalog-info.yaml": `# ${"x".repeat(2000)}\n${orgRepo}` });
    symlinkSync(outside, join(root, "linked"));
    symlinkSync(join(outside, "catalog-info.yaml"), join(root, "catalog-info.yaml"));
    const [report] = await refreshCatalog(catalogStore(db), [localCatalogSource({ id: "local", path: root, maxFileBytes: 1000 })], clock);
    expect(report).toMatchObject({ files: 0, entities: 0 });
    expect(report?.problems[0]?.message).toMatch(/over the 1000-byte limit/);
  });

  it("writes without transactions (D1) with the same result", async () => {
    const root = checkouts({ "payments/catalog-info.yaml": paymentsRepo, "org/catalog-info.yaml": orgRepo });
    const [report] = await refreshCatalog(catalogStore(db, { transactions: false }), [localCatalogSource({ id: "local", path: root })], clock);
    expect(report).toMatchObject({ added: 7 });
    expect(await relationsOf("api:default/payments-api")).toEqual(["apiProvidedBy component:default/payments", "ownedBy group:default/team-payments", "partOf system:default/checkout"]);
  });
});
