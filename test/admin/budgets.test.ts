import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAdminHarness, type AdminHarness } from "./support.ts";

const body = { model: "gpt-4o-mini", messages: [{ role: "user", content: "x".repeat(900) }], max_tokens: 1000 };
const bytes = new TextEncoder().encode(JSON.stringify(body)).byteLength;
const perRequest = (bytes + 1000) / 1e6;

let h: AdminHarness;
let admin: string;
let alice: string;
beforeAll(async () => {
  h = await startAdminHarness({}, ["  openai/gpt-4o-mini: { input: 1, output: 1 }", "policy:", "  groups:", "    admin: {}", "    eng:", '      models: ["openai/*"]', `      budget: { perUser: { dailyUsd: ${(2 * perRequest * 1.0000001).toFixed(9)} } }`]);
  h.fake.setDefault({ usage: { input: bytes, output: 1000 } });
  admin = await h.token("boss@example.com", ["admin"]);
  alice = await h.token("alice@example.com", ["eng"]);
}, 60_000);
afterAll(async () => {
  await h?.close();
});

async function aliceStatus(): Promise<number> {
  const res = await fetch(`${h.gateway.url}/openai/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${alice}` }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

/** Milliseconds until alice's request gets `status` (the bound: OVERRIDE_POLL_MS, 2 s). */
async function msUntil(status: number): Promise<number> {
  const started = Date.now();
  while ((await aliceStatus()) !== status) {
    if (Date.now() - started > 30_000) throw new Error(`alice still not ${status} after 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - started;
}

describe("/admin/v1/budgets", { timeout: 120_000 }, () => {
  it("is for admins only: a non-admin's override is refused (403), audited as denied, and changes nothing", async () => {
    const refused = await h.api("POST", "/admin/v1/budgets/overrides", { token: alice, body: { email: "alice@example.com", addUsd: 100, reason: "I deserve it" } });
    expect(refused.status).toBe(403);
    expect(await h.api("POST", "/admin/v1/budgets/resets", { token: alice, body: { email: "alice@example.com", reason: "x" } })).toMatchObject({ status: 403 });
    expect(await h.api("GET", "/admin/v1/budgets/overrides", { body: undefined })).toMatchObject({ status: 401 });
    const list = await h.api("GET", "/admin/v1/budgets/overrides?all=true", { token: admin });
    expect(list.body).toEqual({ overrides: [], resets: [] });
    const audit = await h.api("GET", "/admin/v1/audit?outcome=denied", { token: admin });
    expect((audit.body["entries"] as Array<{ action: string }>).map((e) => e.action)).toEqual(expect.arrayContaining(["createBudgetOverride", "resetBudget"]));
  });

  it("raise, list, revoke and reset apply to the proxy within the poll bound, each audited", async () => {
    expect(await aliceStatus()).toBe(200);
    expect(await aliceStatus()).toBe(200);
    expect(await aliceStatus()).toBe(429);

    const created = await h.api("POST", "/admin/v1/budgets/overrides", { token: admin, body: { email: "ALICE@example.com", addUsd: perRequest * 1.5, forSeconds: 3600, reason: "demo day" } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ kind: "raise", period: "day", state: "active", reason: "demo day", actor: "boss@example.com", appliesWithinMs: 2000 });
    const id = String(created.body["id"]);
    const applied = await msUntil(200);
    console.log(`admin API override applied after ${applied} ms (bound 2000 ms)`);

    const list = await h.api("GET", "/admin/v1/budgets/overrides?email=alice@example.com", { token: admin });
    expect((list.body["overrides"] as Array<{ id: string }>).map((o) => o.id)).toEqual([id]);

    expect(await h.api("DELETE", `/admin/v1/budgets/overrides/${id}`, { token: admin })).toMatchObject({ status: 200, body: { id, revoked: true } });
    await msUntil(429);
    expect(await h.api("DELETE", `/admin/v1/budgets/overrides/${id}`, { token: admin })).toMatchObject({ status: 404 });

    const reset = await h.api("POST", "/admin/v1/budgets/resets", { token: admin, body: { email: "alice@example.com", reason: "billed twice" } });
    expect(reset.status).toBe(201);
    expect(reset.body).toMatchObject({ period: "day", periodKey: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/), reason: "billed twice" });
    await msUntil(200);

    const audit = await h.api("GET", "/admin/v1/audit", { token: admin });
    const actions = (audit.body["entries"] as Array<{ action: string; outcome: string; actor: { name: string } }>).filter((e) => e.action.startsWith("budget."));
    expect(actions.map((e) => `${e.action}:${e.outcome}`)).toEqual(expect.arrayContaining(["budget.raise:ok", "budget.revoke:ok", "budget.revoke:failed", "budget.reset:ok"]));
    expect(actions.every((e) => e.actor.name === "boss@example.com")).toBe(true);
  });

  it("refuses unclear input with a 400 that says what to fix", async () => {
    const both = await h.api("POST", "/admin/v1/budgets/overrides", { token: admin, body: { group: "eng", addUsd: 1, capUsd: 2, reason: "x" } });
    expect(both).toMatchObject({ status: 400 });
    expect(JSON.stringify(both.body)).toContain("exactly one of addUsd");
    const owners = await h.api("POST", "/admin/v1/budgets/overrides", { token: admin, body: { group: "eng", email: "a@b.c", addUsd: 1, reason: "x" } });
    expect(JSON.stringify(owners.body)).toContain("exactly one budget owner");
    const past = await h.api("POST", "/admin/v1/budgets/overrides", { token: admin, body: { group: "eng", capUsd: 1, until: 1_000, reason: "x" } });
    expect(past.status).toBe(400);
    expect(JSON.stringify(past.body)).toContain("not in the future");
    expect(await h.api("POST", "/admin/v1/budgets/overrides", { token: admin, body: { serviceAccount: "nope", addUsd: 1, reason: "x" } })).toMatchObject({ status: 404 });
    expect(await h.api("POST", "/admin/v1/budgets/overrides", { token: admin, body: { group: "eng", addUsd: -1, reason: "x" } })).toMatchObject({ status: 400 });
  });

  it("is in the OpenAPI document", async () => {
    const doc = await h.api("GET", "/admin/v1/openapi.json");
    const paths = doc.body["paths"] as Record<string, Record<string, { operationId: string }>>;
    expect(paths["/admin/v1/budgets/overrides"]?.["post"]?.operationId).toBe("createBudgetOverride");
    expect(paths["/admin/v1/budgets/overrides"]?.["get"]?.operationId).toBe("listBudgetOverrides");
    expect(paths["/admin/v1/budgets/overrides/{id}"]?.["delete"]?.operationId).toBe("revokeBudgetOverride");
    expect(paths["/admin/v1/budgets/resets"]?.["post"]?.operationId).toBe("resetBudget");
  });
});
