import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock.ts";
import { ServiceAccounts } from "../../src/identity/index.ts";
import { adminRoutes } from "../../src/admin/index.ts";
import { rawRequest } from "../security/raw-http.ts";
import { startAdminHarness, type AdminHarness } from "./support.ts";

/**
 * Who may call /admin/v1, the attacker's way round: no credential, a person outside the admin
 * groups, a service account without the admin scope (metrics:read is not it), a revoked admin
 * key, a browser's cookie, other methods, other spellings of the paths, another site's page.
 * Every refusal is in the gateway's error shape and changes nothing.
 */
const POLL_MS = 200;
let h: AdminHarness;
let admin: string;
let user: string;
let metricsKey: string;
let adminKey: { key: string; id: string };
let unscopedAdminGroupKey: string;

/** One concrete path per route of the document (path parameters filled in). */
const routes = adminRoutes("test")
  .filter((r) => r.authenticated)
  .map((r) => ({ method: r.method.toUpperCase(), path: `/admin/v1${r.path.replace("{name}", "victim").replace("{keyId}", "k1")}`, body: r.body ? "{}" : undefined }));

beforeAll(async () => {
  h = await startAdminHarness({ GATEHOUSE_REVOCATION_POLL_MS: String(POLL_MS) });
  admin = await h.token("root@example.com", ["admin"]);
  user = await h.token("mallory@example.com", ["eng"]);
  const accounts = new ServiceAccounts(h.gateway.deps.db, systemClock);
  await accounts.create({ name: "victim", ownerGroup: "eng", scopes: { routes: ["openai"] }, createdBy: "test" });
  metricsKey = (await accounts.create({ name: "prometheus", ownerGroup: "platform", scopes: { routes: ["openai"], metricsRead: true }, createdBy: "test" })).key.key;
  // Owned by the admin group, but without the admin scope: not an admin.
  unscopedAdminGroupKey = (await accounts.create({ name: "admin-group-bot", ownerGroup: "admin", scopes: { routes: ["openai"] }, createdBy: "test" })).key.key;
  const created = await accounts.create({ name: "automation", ownerGroup: "platform", scopes: { routes: ["openai"], admin: true }, createdBy: "test" });
  adminKey = { key: created.key.key, id: created.key.record.id };
}, 60_000);
afterAll(() => h?.close());

async function send(method: string, path: string, headers: Record<string, string>, body?: string) {
  const res = await fetch(`${h.gateway.url}${path}`, { method, headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers }, ...(body !== undefined ? { body } : {}) });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string; requestId: string } } };
}

/** What must not change when a call is refused. */
async function state() {
  const db = h.gateway.deps.db;
  return JSON.stringify([
    await db.selectFrom("service_accounts").select(["name", "disabled_at"]).orderBy("name").execute(),
    await db.selectFrom("service_account_keys").select(["id", "revoked_at", "expires_at"]).orderBy("id").execute(),
    await db.selectFrom("identity_revocations").select("id").execute(),
  ]);
}

describe("admin authorisation", () => {
  it("no credential: 401 on every route, in the gateway's error shape", async () => {
    for (const r of routes) {
      const answer = await send(r.method, r.path, {}, r.body);
      expect(answer.status, `${r.method} ${r.path}`).toBe(401);
      expect(answer.body.error).toEqual({ code: "unauthenticated", message: expect.stringMatching(/^Missing gateway token/), requestId: expect.any(String) });
    }
  });

  it("a person outside the admin groups, a service account without the admin scope (metrics:read, or owned by the admin group): 403 everywhere, nothing changes, each attempt audited as denied", async () => {
    const before = await state();
    for (const [who, token] of [
      ["user", user],
      ["metrics:read key", metricsKey],
      ["admin-group key", unscopedAdminGroupKey],
    ] as const) {
      for (const r of routes) {
        const answer = await send(r.method, r.path, { authorization: `Bearer ${token}` }, r.body);
        expect(answer.status, `${who}: ${r.method} ${r.path}`).toBe(403);
        expect(answer.body.error?.code).toBe("forbidden");
        expect(answer.body.error?.message).toMatch(who === "user" ? /admin API is for members of admin/ : /lacks the admin scope/);
      }
    }
    expect(await state()).toBe(before);
    const denied = await h.gateway.deps.db.selectFrom("admin_audit").select(["actor_name", "outcome"]).where("outcome", "=", "denied").execute();
    expect(denied.filter((d) => d.actor_name === "mallory@example.com")).toHaveLength(routes.length);
    expect(denied.filter((d) => d.actor_name === "prometheus")).toHaveLength(routes.length);
    // metrics:read still opens /metrics, and only that.
    expect((await fetch(`${h.gateway.url}/metrics`, { headers: { authorization: `Bearer ${metricsKey}` } })).status).toBe(200);
  });

  it("a key with the admin scope is an admin until revoked; then 401 within the bound", async () => {
    const ok = await send("GET", "/admin/v1/service-accounts", { authorization: `Bearer ${adminKey.key}` });
    expect(ok.status).toBe(200);
    const revoke = await send("POST", `/admin/v1/service-accounts/automation/keys/${adminKey.id}/revoke`, { authorization: `Bearer ${admin}` }, "{}");
    expect(revoke.status).toBe(200);
    await expect.poll(async () => (await send("GET", "/admin/v1/service-accounts", { authorization: `Bearer ${adminKey.key}` })).status, { timeout: 10_000, interval: 50 }).toBe(401);
    const refused = await send("GET", "/admin/v1/service-accounts", { "x-api-key": adminKey.key });
    expect(refused.body.error?.message).toMatch(/unknown or revoked/);
  });

  it("the dashboard's cookie is not a credential here (no cross-site riding of a browser session)", async () => {
    const answer = await send("GET", "/admin/v1/service-accounts", { cookie: `gatehouse_token=${admin}` });
    expect(answer.status).toBe(401);
  });

  it("other methods: 401 without a credential, 405 with Allow for an admin, never a 2xx", async () => {
    for (const method of ["PUT", "PATCH", "DELETE", "OPTIONS"]) {
      expect((await send(method, "/admin/v1/service-accounts", {})).status, method).toBe(401);
      const res = await fetch(`${h.gateway.url}/admin/v1/service-accounts`, { method, headers: { authorization: `Bearer ${admin}` } });
      expect(res.status, method).toBe(405);
      expect(res.headers.get("allow")).toBe("GET, POST");
    }
    // HEAD is GET without the body: authenticated the same way.
    expect((await fetch(`${h.gateway.url}/admin/v1/service-accounts`, { method: "HEAD" })).status).toBe(401);
    expect((await fetch(`${h.gateway.url}/admin/v1/service-accounts`, { method: "HEAD", headers: { authorization: `Bearer ${user}` } })).status).toBe(403);
  });

  it("other spellings of the paths, sent byte for byte: never served to a non-admin, never a 2xx", async () => {
    const spellings = [
      "/admin/v1/service-accounts/",
      "/admin/v1//service-accounts",
      "/ADMIN/v1/service-accounts",
      "/admin/V1/service-accounts",
      "/Admin/v1/service-accounts",
      "/admin/v1/%73ervice-accounts",
      "/admin/v1/service%2Daccounts",
      "/admin%2Fv1/service-accounts",
      "/admin/v1/service-accounts%2F",
      "/admin/v1/./service-accounts",
      "/admin/v1/x/../service-accounts",
      "/admin/v1/%2e%2e/v1/service-accounts",
      "/admin/v1/openapi.json/../service-accounts",
      "/admin/v1/openapi.json%2F..%2Fservice-accounts",
      "/admin/v1/openapi.json/..%2Fservice-accounts",
      "/admin/x/../v1/service-accounts",
      "/admin/v1/service-accounts?",
      "/admin/v1/service-accounts#x",
      "/admin/v1/service-accounts;x",
      "/admin/v1/service-accounts%00",
      "/admin/v1/service-accounts/victim/../../service-accounts",
      "//admin/v1/service-accounts",
      "/admin/v1\\service-accounts",
    ];
    for (const target of spellings) {
      for (const [who, headers] of [
        ["nobody", {}],
        ["user", { authorization: `Bearer ${user}` }],
      ] as const) {
        const answer = await rawRequest(h.gateway.url, "GET", target, headers);
        expect([400, 401, 403, 404], `${who} ${target}: ${answer.status} ${answer.text.slice(0, 120)}`).toContain(answer.status);
        expect(answer.text).not.toContain("serviceAccounts");
        expect(answer.text).not.toContain("victim");
      }
    }
    // The same spellings with a write: nothing is created.
    const before = await state();
    for (const target of spellings) {
      await rawRequest(h.gateway.url, "POST", target, { authorization: `Bearer ${user}`, "content-type": "application/json" }, JSON.stringify({ name: "sneaky", ownerGroup: "admin", scopes: { routes: ["*"], admin: true } }));
    }
    expect(await state()).toBe(before);
  });

  it("a state-changing call from another site's page is refused with 403 even with an admin's token; nothing is created", async () => {
    const before = await state();
    const body = JSON.stringify({ name: "csrf-bot", ownerGroup: "admin", scopes: { routes: ["*"], admin: true } });
    const foreign: Array<Record<string, string>> = [{ origin: "https://evil.example" }, { "sec-fetch-site": "cross-site" }, { "sec-fetch-site": "same-site" }, { origin: "null" }];
    for (const headers of foreign) {
      const answer = await send("POST", "/admin/v1/service-accounts", { authorization: `Bearer ${admin}`, ...headers }, body);
      expect(answer.status, JSON.stringify(headers)).toBe(403);
      expect(answer.body.error?.message).toMatch(/Cross-origin request refused/);
    }
    // A simple (preflight-free) form post, which any page can send, is refused by its type.
    const form = await send("POST", "/admin/v1/revocations", { authorization: `Bearer ${admin}`, "content-type": "text/plain" }, JSON.stringify({ kind: "group", value: "eng" }));
    expect(form.status).toBe(415);
    expect(await state()).toBe(before);
    expect(await h.gateway.deps.db.selectFrom("service_accounts").select("name").where("name", "=", "csrf-bot").execute()).toEqual([]);
  });
});
