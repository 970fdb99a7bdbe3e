import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localCatalogSource } from "../../src/adapters/node/knowledge/local-source.ts";
import { WorkerPoolExecutor } from "../../src/adapters/node/mcp/index.ts";
import { catalogStore, knowledgeBuiltIn, refreshCatalog } from "../../src/knowledge/index.ts";
import { groupAllowListPolicy, listAuditEntries, mcpServersSchema } from "../../src/mcp/index.ts";
import { caller, startPortal, TokenTableAuthenticator, type RunningPortal } from "../mcp/harness.ts";
import { checkouts, fraudRepo, ledgerRepo, orgRepo, paymentsRepo, StepClock } from "./fixtures.ts";

const ALICE = "alice-token-0123456789";
const BOB = "bob-token-0123456789ab";
let portal: RunningPortal;
let pool: WorkerPoolExecutor;
let alice: Client;

async function connect(token: string, query = ""): Promise<Client> {
  const client = new Client({ name: "knowledge-e2e", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${portal.url}${query}`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<{ isError: boolean; body: Record<string, unknown> }> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = (result.content[0] as { text: string }).text;
  return { isError: result.isError === true, body: JSON.parse(text) as Record<string, unknown> };
}

beforeAll(async () => {
  pool = new WorkerPoolExecutor({ size: 1, watchdogGraceMs: 20_000 });
  portal = await startPortal({
    // A configured upstream id beside it: the built-in joins, it does not replace the config.
    servers: mcpServersSchema.parse({}),
    builtIns: (deps) => ({ knowledge: knowledgeBuiltIn(deps.db) }),
    executor: pool,
    sandboxLimits: { timeoutMs: 4_000, memoryBytes: 32 * 1024 * 1024 },
    authenticator: new TokenTableAuthenticator({ [ALICE]: caller("alice", ["eng"]), [BOB]: caller("bob", ["sales"]) }),
    policy: groupAllowListPolicy({ eng: ["knowledge"], sales: [] }),
  });
  const root = checkouts({ "payments/catalog-info.yaml": paymentsRepo, "org/catalog-info.yaml": orgRepo, "fraud/catalog-info.yaml": fraudRepo, "ledger/catalog-info.yaml": ledgerRepo });
  const [report] = await refreshCatalog(catalogStore(portal.deps.db), [localCatalogSource({ id: "local", path: root })], new StepClock());
  expect(report?.problems).toEqual([]);
  alice = await connect(ALICE);
}, 60_000);

afterAll(async () => {
  await alice?.close();
  await portal?.close();
  await pool?.close();
});

describe("the knowledge catalog as a built-in portal server", () => {
  it("lists its tools namespaced like any upstream", async () => {
    const names = (await alice.listTools()).tools.map((tool) => tool.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "knowledge_get_entity",
        "knowledge_find_entities",
        "knowledge_owner_of",
        "knowledge_dependencies",
        "knowledge_dependents",
        "knowledge_apis_of",
        "knowledge_get_api",
        "knowledge_group_members",
        "knowledge_relations",
        "knowledge_search",
      ]),
    );
  });

  it("answers who owns a service, by bare name, with the team's email", async () => {
    const { body } = await call(alice, "knowledge_owner_of", { ref: "payments" });
    expect(body).toEqual({ ref: "component:default/payments", owners: [{ ref: "group:default/team-payments", title: "Payments team", type: "team", email: "payments@example.com" }] });
  });

  it("walks dependencies and dependents (impact) with depth, through APIs", async () => {
    const deps = await call(alice, "knowledge_dependencies", { ref: "component:default/payments", depth: 2 });
    const nodes = (deps.body["nodes"] as { ref: string; via: string; depth: number }[]).map((n) => `${n.depth} ${n.ref} <- ${n.via}`);
    expect(nodes).toEqual([
      "1 api:default/fraud-api <- component:default/payments consumesApi",
      "1 component:default/ledger <- component:default/payments dependsOn",
      "1 resource:default/payments-db <- component:default/payments dependsOn",
      "2 component:default/fraud <- api:default/fraud-api apiProvidedBy",
    ]);
    const impact = await call(alice, "knowledge_dependents", { ref: "fraud", depth: 3 });
    expect((impact.body["nodes"] as { ref: string }[]).map((n) => n.ref)).toEqual(["api:default/fraud-api", "component:default/payments", "api:default/payments-api"]);
    const oneHop = await call(alice, "knowledge_dependents", { ref: "fraud" });
    expect((oneHop.body["nodes"] as { ref: string }[]).map((n) => n.ref)).toEqual(["api:default/fraud-api"]);
  });

  it("returns an API with its definition, and group members", async () => {
    const api = await call(alice, "knowledge_get_api", { ref: "payments-api" });
    expect(api.body).toMatchObject({ ref: "api:default/payments-api", type: "openapi", providers: ["component:default/payments"] });
    expect(api.body["definition"]).toContain("openapi: 3.0.0");
    const members = await call(alice, "knowledge_group_members", { ref: "team-payments" });
    expect(members.body).toMatchObject({ ref: "group:default/team-payments", parent: ["group:default/engineering"], members: [{ ref: "user:default/ada", name: "Ada Lovelace" }] });
    const notGroup = await call(alice, "knowledge_group_members", { ref: "payments" });
    expect(notGroup.isError).toBe(true);
  });

  it("filters, searches, and says how to narrow an ambiguous or unknown ref", async () => {
    const found = await call(alice, "knowledge_find_entities", { kind: "component", owner: "team-payments" });
    expect(found.body).toMatchObject({ total: 2, items: [{ ref: "component:default/ledger" }, { ref: "component:default/payments" }] });
    const search = await call(alice, "knowledge_search", { query: "charges cards" });
    expect((search.body["items"] as { ref: string }[]).map((i) => i.ref)).toEqual(["component:default/payments"]);
    const missing = await call(alice, "knowledge_get_entity", { ref: "nope" });
    expect(missing).toMatchObject({ isError: true, body: { error: expect.stringMatching(/No catalog entity matches "nope"/) } });
  });

  it("is governed: a caller whose groups do not allow it neither sees nor calls it, and the attempt is audited", async () => {
    const bob = await connect(BOB);
    try {
      expect((await bob.listTools()).tools.map((t) => t.name).filter((n) => n.startsWith("knowledge_"))).toEqual([]);
      await expect(bob.callTool({ name: "knowledge_owner_of", arguments: { ref: "payments" } })).rejects.toThrow(/Unknown tool/);
    } finally {
      await bob.close();
    }
    await portal.runtime.audit.flush();
    const rows = await listAuditEntries(portal.deps.db, {});
    expect(rows.find((r) => r.callerId === "bob" && r.serverId === "knowledge")).toMatchObject({ outcome: "denied", tool: "owner_of" });
    expect(rows.find((r) => r.callerId === "alice" && r.tool === "owner_of")).toMatchObject({ outcome: "ok", serverId: "knowledge", via: "direct" });
  });

  it("shows in Code Mode like every upstream", async () => {
    const client = await connect(ALICE, "?codemode=search_and_execute");
    try {
      const search = (await client.callTool({ name: "codemode_search", arguments: { query: "owner" } })) as CallToolResult;
      expect((search.content[0] as { text: string }).text).toContain("knowledge_owner_of");
      const run = (await client.callTool({ name: "codemode_execute", arguments: { code: `const r = await codemode.knowledge_owner_of({ ref: "ledger" }); return r;` } })) as CallToolResult;
      expect((run.content[0] as { text: string }).text).toContain("group:default/team-payments");
    } finally {
      await client.close();
    }
  });
});
