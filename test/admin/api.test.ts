import { readdirSync, readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usageSummary } from "../../src/ledger/index.ts";
import { CLIENT_TOKEN, ledgerRows } from "../gateway/harness.ts";
import { startAdminHarness, type AdminHarness } from "./support.ts";

/**
 * The admin API over HTTP against a real gateway (real SQLite, node:http, dev mode): every
 * route of the OpenAPI document is called here (or, for a group of routes with its own file,
 * there), and the last test checks that (the document's
 * paths and methods against what these tests called). Authorisation attacks are in
 * authz.security.test.ts; two instances on PostgreSQL in two-instances.pg.test.ts.
 */
let h: AdminHarness;
let admin: string;
/** Every key text the API handed out: none may appear in the audit log. */
const keysShown: string[] = [];
const POLL_MS = 200;

beforeAll(async () => {
  // A policy section: an account's own limits need one to enforce them.
  h = await startAdminHarness({ GATEHOUSE_REVOCATION_POLL_MS: String(POLL_MS) }, ["policy:", "  defaultGroup: eng", "  groups:", "    eng:", '      models: ["openai/*"]', "    contractors:", '      models: ["openai/*"]']);
  admin = await h.token("root@example.com", ["admin"]);
}, 60_000);
afterAll(() => h?.close());

const chat = (token: string, model = "gpt-4o-mini") =>
  fetch(`${h.gateway.url}/openai/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }) });

describe("service accounts and keys", () => {
  it("create shows the key once; get and list show ids and hints only; the key calls a provider", async () => {
    const created = await h.api("POST", "/admin/v1/service-accounts", {
      token: admin,
      body: { name: "ci-reviewer", ownerGroup: "eng", scopes: { routes: ["openai"], models: ["openai/gpt-4o-mini*"] }, limits: { dailyUsd: 5 }, keyTtlSeconds: 86_400 },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("cache-control")).toBe("no-store");
    const key = (created.body["key"] as { key: string; record: { id: string; hint: string; expiresAt: number } }).key;
    keysShown.push(key);
    expect(key).toMatch(/^ghsa_/);
    expect(created.body).toMatchObject({ account: { name: "ci-reviewer", ownerGroup: "eng", createdBy: "root@example.com", limits: { dailyUsd: 5 }, scopes: { admin: false, metricsRead: false } } });

    const one = await h.api("GET", "/admin/v1/service-accounts/ci-reviewer", { token: admin });
    expect(one.status).toBe(200);
    expect(JSON.stringify(one.body)).not.toContain(key.slice(5));
    expect((one.body["keys"] as unknown[]).length).toBe(1);
    const list = await h.api("GET", "/admin/v1/service-accounts", { token: admin });
    expect(list.body["serviceAccounts"]).toEqual([expect.objectContaining({ name: "ci-reviewer", activeKeys: 1 })]);
    const keys = await h.api("GET", "/admin/v1/service-accounts/ci-reviewer/keys", { token: admin });
    expect((keys.body["keys"] as Array<{ hint: string }>)[0]?.hint).toBe(`${key.slice(0, 11)}…`);

    const res = await chat(key);
    expect(res.status).toBe(200);
    await res.text();
  });

  it("refuses bad input with a 400/404/409/415 in the gateway's error shape that says what to fix", async () => {
    const cases: Array<[string, string, unknown, number, RegExp]> = [
      ["POST", "/admin/v1/service-accounts", { name: "ci-reviewer", ownerGroup: "eng", scopes: { routes: ["openai"] } }, 409, /exists already/],
      ["POST", "/admin/v1/service-accounts", { name: "Bad Name!", ownerGroup: "eng", scopes: { routes: ["openai"] } }, 400, /name: a service account name is 2–63 characters/],
      // A typo is refused, not ignored: "model" would otherwise leave the account unscoped.
      ["POST", "/admin/v1/service-accounts", { name: "typo-bot", ownerGroup: "eng", scopes: { routes: ["openai"], model: ["openai/*"] } }, 400, /Unrecognized key: "model"/],
      ["POST", "/admin/v1/service-accounts", { name: "typo-bot", ownerGroup: "eng", scopes: { routes: ["nope"] } }, 400, /a route is a provider id/],
      ["POST", "/admin/v1/service-accounts/nobody/keys", {}, 404, /No service account named nobody/],
      ["POST", "/admin/v1/service-accounts/ci-reviewer/keys/not-a-key/revoke", {}, 404, /has no live key not-a-key/],
      ["POST", "/admin/v1/revocations", { kind: "email", value: "not-an-email" }, 400, /is not an email address/],
      ["POST", "/admin/v1/revocations", { kind: "everyone", value: "x" }, 400, /kind/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const answer = await h.api(method, path, { token: admin, body });
      expect(answer.status, `${path} ${JSON.stringify(body)}`).toBe(status);
      expect((answer.body["error"] as { message: string }).message).toMatch(message);
      expect(answer.body["error"]).toEqual({ code: expect.any(String), message: expect.any(String), requestId: expect.any(String) });
    }
    const form = await h.api("POST", "/admin/v1/service-accounts", { token: admin, body: "name=x", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(form.status).toBe(415);
    const broken = await h.api("POST", "/admin/v1/service-accounts", { token: admin, body: "{not json" });
    expect(broken.status).toBe(400);
    const twice = await h.api("GET", "/admin/v1/audit?limit=1&limit=2", { token: admin });
    expect(twice.status).toBe(400);
    expect(await h.gateway.deps.db.selectFrom("service_accounts").select("name").where("name", "=", "typo-bot").execute()).toEqual([]);
  });

  it("rotation: add, roll over (old and new both work), revoke the old (refused within the bound), disable the account", async () => {
    const created = await h.api("POST", "/admin/v1/service-accounts", { token: admin, body: { name: "rotating", ownerGroup: "eng", scopes: { routes: ["openai"], models: ["openai/*"] } } });
    const first = created.body["key"] as { key: string; record: { id: string } };
    keysShown.push(first.key);
    const added = await h.api("POST", "/admin/v1/service-accounts/rotating/keys", { token: admin, body: { ttlSeconds: 3600 } });
    expect(added.status).toBe(201);
    const second = added.body as { key: string; record: { id: string; expiresAt: number } };
    keysShown.push(second.key);
    expect(second.record.expiresAt).toBeGreaterThan(Date.now());

    const rolled = await h.api("POST", `/admin/v1/service-accounts/rotating/keys/${first.record.id}/rollover`, { token: admin, body: { graceSeconds: 600 } });
    expect(rolled.status).toBe(201);
    const third = (rolled.body["key"] as { key: string; record: { id: string } }).key;
    keysShown.push(third);
    const old = rolled.body["old"] as { id: string; expiresAt: number };
    expect(old.id).toBe(first.record.id);
    expect(old.expiresAt).toBeGreaterThan(Date.now() + 500_000);
    expect(old.expiresAt).toBeLessThanOrEqual(Date.now() + 600_000);
    for (const k of [first.key, second.key, third]) expect((await chat(k)).status).toBe(200);

    const revoked = await h.api("POST", `/admin/v1/service-accounts/rotating/keys/${first.record.id}/revoke`, { token: admin, body: { reason: "rotated" } });
    expect(revoked.body).toEqual({ revoked: true, keyId: first.record.id });
    // This instance forgets the account's cached keys at once; the others within the bound.
    expect((await chat(first.key)).status).toBe(401);
    expect((await chat(third)).status).toBe(200);

    const disabled = await h.api("POST", "/admin/v1/service-accounts/rotating/disable", { token: admin, body: { reason: "project over" } });
    expect(disabled.status).toBe(200);
    expect(disabled.body["disabledAt"]).toEqual(expect.any(Number));
    expect((await chat(third)).status).toBe(401);
    expect((await h.api("POST", "/admin/v1/service-accounts/rotating/disable", { token: admin, body: {} })).status).toBe(409);
  });
});

describe("people's tokens and revocations", () => {
  it("revokes by token id, email, group and sub; this instance refuses at once, a later sign-in works", async () => {
    const alice = await h.token("alice@example.com", ["eng"]);
    const bob = await h.token("bob@example.com", ["contractors"]);
    const carol = await h.token("carol@example.com", ["eng"]);
    const dave = await h.token("dave@example.com", ["eng"]);
    for (const t of [alice, bob, carol, dave]) expect((await chat(t)).status).toBe(200);

    const tokens = await h.api("GET", "/admin/v1/tokens?email=alice@example.com", { token: admin });
    const aliceTokens = tokens.body["tokens"] as Array<{ jti: string; callerId: string }>;
    expect(aliceTokens).toHaveLength(1);
    const daveId = ((await h.api("GET", "/admin/v1/tokens?email=dave@example.com&all=true", { token: admin })).body["tokens"] as Array<{ callerId: string }>)[0]?.callerId;

    const byJti = await h.api("POST", "/admin/v1/revocations", { token: admin, body: { kind: "jti", value: aliceTokens[0]?.jti, reason: "laptop lost" } });
    expect(byJti.status).toBe(201);
    expect(byJti.body).toMatchObject({ kind: "jti", gatehouseTokens: 1, effectiveWithinMs: 2 * POLL_MS });
    expect((await chat(alice)).status).toBe(401);

    expect((await h.api("POST", "/admin/v1/revocations", { token: admin, body: { kind: "group", value: "contractors" } })).body).toMatchObject({ kind: "group", gatehouseTokens: 0 });
    expect((await chat(bob)).status).toBe(401);
    expect((await h.api("POST", "/admin/v1/revocations", { token: admin, body: { kind: "email", value: " Carol@Example.COM " } })).body).toMatchObject({ kind: "email", value: "carol@example.com", gatehouseTokens: 1 });
    expect((await chat(carol)).status).toBe(401);
    // A Gatehouse token's sub is the anonymous id.
    expect((await h.api("POST", "/admin/v1/revocations", { token: admin, body: { kind: "sub", value: daveId } })).status).toBe(201);
    expect((await chat(dave)).status).toBe(401);

    // Bystanders are untouched; a token issued after the revocation works (iat has second granularity).
    expect((await chat(await h.token("erin@example.com", ["eng"]))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await chat(await h.token("bob@example.com", ["contractors"]))).status).toBe(200);

    const list = await h.api("GET", "/admin/v1/revocations?limit=10", { token: admin });
    expect((list.body["revocations"] as Array<{ kind: string; actor: string }>).map((r) => r.kind).sort()).toEqual(["email", "group", "jti", "sub"]);
    expect((list.body["revocations"] as Array<{ actor: string }>).every((r) => r.actor === "root@example.com")).toBe(true);
  });
});

describe("usage and the request log", () => {
  it("GET /usage is `gatehouse usage --format json`; GET /requests matches plain SQL over the ledger", async () => {
    await h.gateway.ledger.flush();
    const usage = await h.api("GET", "/admin/v1/usage?by=provider,model", { token: admin });
    expect(usage.status).toBe(200);
    expect(usage.body["rows"]).toEqual(JSON.parse(JSON.stringify(await usageSummary(h.gateway.deps.db, { groupBy: ["provider", "model"] }))));
    expect((await h.api("GET", "/admin/v1/usage?by=nope", { token: admin })).status).toBe(400);
    expect((await h.api("GET", "/admin/v1/usage?since=2026-02-01&until=2026-01-01", { token: admin })).status).toBe(400);

    const rows = await ledgerRows(h);
    expect(rows.filter((r) => r.status === 200).length).toBeGreaterThan(3);
    const filtered = await h.api("GET", "/admin/v1/requests?status=200&provider=openai&model=gpt-4o-mini&limit=500", { token: admin });
    const expected = await h.gateway.deps.db.selectFrom("ledger").select("request_id").where("status", "=", 200).where("provider", "=", "openai").where("model", "=", "gpt-4o-mini").orderBy("request_id", "desc").execute();
    expect(expected.length).toBeGreaterThan(3);
    expect((filtered.body["requests"] as Array<{ requestId: string }>).map((r) => r.requestId)).toEqual(expected.map((r) => r.request_id));

    // Paging: two at a time walks every row once, newest first.
    const seen: string[] = [];
    let before: string | null = null;
    do {
      const page: Awaited<ReturnType<AdminHarness["api"]>> = await h.api("GET", `/admin/v1/requests?limit=2${before ? `&before=${before}` : ""}`, { token: admin });
      seen.push(...(page.body["requests"] as Array<{ requestId: string }>).map((r) => r.requestId));
      before = page.body["next"] as string | null;
    } while (before);
    const all = await sql<{ request_id: string }>`select request_id from ledger order by request_id desc`.execute(h.gateway.deps.db);
    expect(seen).toEqual(all.rows.map((r) => r.request_id));

    const costly = await h.api("GET", "/admin/v1/requests?minCostUsd=0.0000001&outcome=completed", { token: admin });
    const costlyIds = (await h.gateway.deps.db.selectFrom("ledger").select("request_id").where("cost_usd", ">=", 0.0000001).where("outcome", "=", "completed").orderBy("request_id", "desc").execute()).map((r) => r.request_id);
    expect((costly.body["requests"] as Array<{ requestId: string }>).map((r) => r.requestId)).toEqual(costlyIds);
    expect(costlyIds.length).toBeGreaterThan(0);

    // The coding client (migration 012), from the user agent.
    const fromOpenCode = await fetch(`${h.gateway.url}/openai/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json", "user-agent": "opencode/1.2.3 ai-sdk/provider-utils/3.0.0" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(fromOpenCode.status).toBe(200);
    await fromOpenCode.text();
    await h.gateway.ledger.flush();
    const byClient = await h.api("GET", "/admin/v1/requests?client=opencode&limit=500", { token: admin });
    const clientIds = (await h.gateway.deps.db.selectFrom("ledger").select("request_id").where("client", "=", "opencode").orderBy("request_id", "desc").execute()).map((r) => r.request_id);
    expect(clientIds.length).toBeGreaterThan(0);
    expect((byClient.body["requests"] as Array<{ requestId: string; client: string }>).map((r) => r.requestId)).toEqual(clientIds);
  });
});

describe("the admin audit log", () => {
  it("has every action with who, what, target, from where and outcome, and never a key", async () => {
    const audit = await h.api("GET", "/admin/v1/audit?limit=1000", { token: admin });
    const entries = audit.body["entries"] as Array<{ action: string; outcome: string; actor: { name: string; kind: string }; ip: string; userAgent: string; target: string; detail: Record<string, unknown> }>;
    const actions = entries.map((e) => `${e.action} ${e.outcome}`);
    for (const expected of ["service_account.create ok", "service_account.create failed", "key.create ok", "key.rollover ok", "key.revoke ok", "key.revoke failed", "service_account.disable ok", "token.revoke_jti ok", "token.revoke_email ok", "token.revoke_group ok", "token.revoke_sub ok"]) {
      expect(actions).toContain(expected);
    }
    const create = entries.find((e) => e.action === "service_account.create" && e.outcome === "ok" && e.target === "service-account:ci-reviewer");
    expect(create).toMatchObject({ actor: { kind: "person", name: "root@example.com" }, ip: "127.0.0.1", userAgent: "node", detail: { keyHint: expect.stringMatching(/^ghsa_.{6}…$/) } });
    const conflict = entries.find((e) => e.action === "service_account.create" && e.outcome === "failed");
    expect(conflict?.detail).toMatchObject({ error: "conflict" });

    const filtered = await h.api("GET", "/admin/v1/audit?action=key.revoke&outcome=ok", { token: admin });
    expect((filtered.body["entries"] as unknown[]).length).toBe(1);

    // Not one created key, nor its secret part, anywhere in the table.
    const dump = JSON.stringify(await h.gateway.deps.db.selectFrom("admin_audit").selectAll().execute());
    expect(keysShown.length).toBeGreaterThanOrEqual(4);
    for (const key of keysShown) expect(dump).not.toContain(key.slice(11));
  });
});

describe("budget overrides (the whole flow and the attacks: test/admin/budgets.test.ts)", () => {
  it("raise, list, revoke and reset answer in their documented shapes", async () => {
    const created = await h.api("POST", "/admin/v1/budgets/overrides", { token: admin, body: { group: "eng", addUsd: 5, forSeconds: 600, reason: "api smoke" } });
    expect(created).toMatchObject({ status: 201, body: { scope: "group:eng", kind: "raise", state: "active" } });
    const list = await h.api("GET", "/admin/v1/budgets/overrides?group=eng", { token: admin });
    expect((list.body["overrides"] as Array<{ id: string }>).map((o) => o.id)).toContain(created.body["id"]);
    expect(await h.api("DELETE", `/admin/v1/budgets/overrides/${String(created.body["id"])}`, { token: admin })).toMatchObject({ status: 200, body: { revoked: true } });
    expect(await h.api("POST", "/admin/v1/budgets/resets", { token: admin, body: { group: "eng", period: "month", reason: "api smoke" } })).toMatchObject({ status: 201, body: { scope: "group:eng", period: "month" } });
  });
});

describe("the OpenAPI document", () => {
  it("is served without a credential, validates as OpenAPI 3.1, and every route in it is exercised (by this file, or for another group of routes by its file here)", async () => {
    const doc = await h.api("GET", "/admin/v1/openapi.json");
    expect(doc.status).toBe(200);
    const result = await new Validator().validate(doc.body);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.body["openapi"]).toBe("3.1.0");

    const paths = doc.body["paths"] as Record<string, Record<string, unknown>>;
    const operations = Object.entries(paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => ({ method: m.toUpperCase(), path, pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, "[^/]+")}$`) })));
    expect(operations.length).toBeGreaterThanOrEqual(15);
    // Called over HTTP by this file, or by another file of this folder whose group of routes it
    // tests (budget overrides: budgets.test.ts). Those are read from their sources: each call
    // `h.api("METHOD", "/admin/v1/…")` there, a `${…}` standing for one path segment.
    const called = [...h.called].map((c) => c.split(" ") as [string, string]);
    called.push(...callsInOtherFiles());
    const missed = operations.filter((op) => !called.some(([method, path]) => method === op.method && op.pattern.test(path)));
    expect(missed.map((op) => `${op.method} ${op.path}`)).toEqual([]);
    // And the dev token (groups dev, admin) is an admin too.
    expect((await h.api("GET", "/admin/v1/audit?limit=1", { token: CLIENT_TOKEN })).status).toBe(200);
  });
});

/** `METHOD path` of every `h.api(...)` call in the other test files of this folder (paths without the query). */
function callsInOtherFiles(): Array<[string, string]> {
  const dir = new URL(".", import.meta.url);
  const out: Array<[string, string]> = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".test.ts") && f !== "api.test.ts")) {
    const text = readFileSync(new URL(file, dir), "utf8");
    for (const m of text.matchAll(/\.api\("([A-Z]+)",\s*[`"](\/admin\/v1\/[^`"?]*)/g)) out.push([m[1] as string, (m[2] as string).replace(/\$\{[^}]+\}/g, "x")]);
  }
  return out;
}
