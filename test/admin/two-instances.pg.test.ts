import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgres } from "../../src/adapters/node/postgres.ts";
import type { Database } from "../../src/store/index.ts";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/index.ts";
import { chat, createSharedSigningKey, issueToken, KEYS, startGatewayProcess, writeConfig, type GatewayProcess } from "../scale/gateway-process.ts";
import { startTestDatabase, type TestDatabase } from "../scale/postgres.ts";

/**
 * Two `gatehouse serve` processes on one real PostgreSQL: an admin call made on instance A is
 * honoured by instance B within the stated bound (2 x GATEHOUSE_REVOCATION_POLL_MS, which the
 * API returns as effectiveWithinMs). The time is measured from A's answer to B's first refusal;
 * B is asked continuously, so the figure is what a client would see.
 */
const POLL_MS = 1000;
let database: TestDatabase;
let db: Kysely<Database>;
let fake: FakeUpstream;
let a: GatewayProcess;
let b: GatewayProcess;
let adminToken: string;
const measured: Record<string, number> = {};

beforeAll(async () => {
  database = await startTestDatabase();
  db = openPostgres(database.url, { maxConnections: 2 });
  fake = await startFakeUpstream({ keys: KEYS });
  const configDir = writeConfig(fake.url, ["policy:", "  defaultGroup: eng", "  groups:", "    eng:", '      models: ["openai/*"]', "    contractors:", '      models: ["openai/*"]', "    admin:", '      models: ["openai/*"]'].join("\n"));
  const shared = { DATABASE_URL: database.url, GATEHOUSE_SIGNING_KEY_FILE: await createSharedSigningKey(), GATEHOUSE_REVOCATION_POLL_MS: String(POLL_MS) };
  [a, b] = await Promise.all([startGatewayProcess(configDir, shared), startGatewayProcess(configDir, shared)]);
  adminToken = await issueToken(shared, "root@example.com", ["admin"]);
  tokens.alice = await issueToken(shared, "alice@example.com", ["eng"]);
  tokens.bob = await issueToken(shared, "bob@example.com", ["contractors"]);
}, 180_000);

afterAll(async () => {
  await Promise.all([a?.stop("SIGTERM"), b?.stop("SIGTERM")]);
  await db?.destroy();
  await fake?.close();
  await database?.close();
  // The figures behind docs/admin.md's revocation bound.
  console.log(`revocation on A → refused on B (ms): ${JSON.stringify(measured)}`);
});

const tokens: Record<string, string> = {};

async function adminCall(g: GatewayProcess, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${g.url}${path}`, { method, headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function status(g: GatewayProcess, token: string, model = "gpt-4o-mini"): Promise<number> {
  const res = await chat(g.url, { model, messages: [{ role: "user", content: "hi" }] }, undefined, token);
  await res.text();
  return res.status;
}

/** Asks B until it refuses; the time from `since` to the first refusal, or fails after `deadlineMs` (generous: a loaded machine). */
async function msUntilRefused(g: GatewayProcess, token: string, since: number, deadlineMs = 30_000): Promise<number> {
  for (;;) {
    const s = await status(g, token);
    if (s === 401) return performance.now() - since;
    expect(s).toBe(200);
    if (performance.now() - since > deadlineMs) throw new Error(`still accepted ${deadlineMs} ms after the revocation`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("admin API across two instances on PostgreSQL", { timeout: 120_000 }, () => {
  it("a revocation by email on A is refused on B within effectiveWithinMs; A refuses at once", async () => {
    expect(await status(b, tokens.alice as string)).toBe(200);
    expect(await status(a, tokens.alice as string)).toBe(200);
    const revoked = await adminCall(a, "POST", "/admin/v1/revocations", { kind: "email", value: "alice@example.com", reason: "left" });
    const at = performance.now();
    expect(revoked.status).toBe(201);
    expect(revoked.body["effectiveWithinMs"]).toBe(2 * POLL_MS);
    expect(await status(a, tokens.alice as string)).toBe(401);
    const ms = await msUntilRefused(b, tokens.alice as string, at);
    measured["email"] = Math.round(ms);
    expect(ms).toBeLessThanOrEqual(2 * POLL_MS);
  });

  it("a revocation by group on A is refused on B within the bound", async () => {
    expect(await status(b, tokens.bob as string)).toBe(200);
    const revoked = await adminCall(a, "POST", "/admin/v1/revocations", { kind: "group", value: "contractors" });
    const at = performance.now();
    expect(revoked.status).toBe(201);
    const ms = await msUntilRefused(b, tokens.bob as string, at);
    measured["group"] = Math.round(ms);
    expect(ms).toBeLessThanOrEqual(2 * POLL_MS);
  });

  it("key rotation through A: old and new keys both work on B during rollover, the old one is refused on B within the bound after revoke; a model outside the scope is refused in OpenAI's error shape", async () => {
    const created = await adminCall(a, "POST", "/admin/v1/service-accounts", { name: "ci-bot", ownerGroup: "eng", scopes: { routes: ["openai"], models: ["openai/gpt-4o-mini*"] } });
    expect(created.status).toBe(201);
    const oldKey = created.body["key"] as { key: string; record: { id: string } };
    expect(await status(b, oldKey.key)).toBe(200);

    const rolled = await adminCall(a, "POST", `/admin/v1/service-accounts/ci-bot/keys/${oldKey.record.id}/rollover`, { graceSeconds: 3600 });
    expect(rolled.status).toBe(201);
    const newKey = (rolled.body["key"] as { key: string }).key;
    expect(await status(b, oldKey.key)).toBe(200);
    expect(await status(b, newKey)).toBe(200);
    expect(await status(a, newKey)).toBe(200);

    // Outside the scope: refused before forwarding, as OpenAI's SDK expects an error.
    const before = fake.requests.length;
    const outside = await chat(b.url, { model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }, undefined, newKey);
    expect(outside.status).toBe(403);
    const err = (await outside.json()) as { error: { message: string; type: string; code: string } };
    expect(err.error).toMatchObject({ code: "forbidden", message: expect.stringContaining("outside service account ci-bot's scope") });
    expect(typeof err.error.type).toBe("string");
    expect(fake.requests.length).toBe(before);

    const revoked = await adminCall(a, "POST", `/admin/v1/service-accounts/ci-bot/keys/${oldKey.record.id}/revoke`, { reason: "rotated" });
    const at = performance.now();
    expect(revoked.status).toBe(200);
    const ms = await msUntilRefused(b, oldKey.key, at);
    measured["key"] = Math.round(ms);
    expect(ms).toBeLessThanOrEqual(2 * POLL_MS);
    expect(await status(b, newKey)).toBe(200);

    // Both instances wrote to the one audit log; B reads A's entries.
    const audit = await adminCall(b, "GET", "/admin/v1/audit?limit=50");
    const actions = (audit.body["entries"] as Array<{ action: string; outcome: string; via: string }>).map((e) => `${e.via} ${e.action} ${e.outcome}`);
    expect(actions).toEqual(expect.arrayContaining(["api token.revoke_email ok", "api token.revoke_group ok", "api service_account.create ok", "api key.rollover ok", "api key.revoke ok", "cli token.issue ok"]));
  });
});
