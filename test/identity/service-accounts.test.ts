import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import type { Clock } from "../../src/core/clock.ts";
import { GatewayError } from "../../src/core/errors.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { migrateToLatest, type Database } from "../../src/store/index.ts";
import { createIdentity } from "../../src/identity/index.ts";
import { ServiceAccounts } from "../../src/identity/service-accounts/store.ts";
import { ServiceAccountVerifier } from "../../src/identity/service-accounts/verifier.ts";

const FRESH_MS = 200;
let db: Kysely<Database>;
// Wall time and the monotonic clock move only when a test moves them: no dependence on load.
let wall = Date.UTC(2026, 11, 1, 9, 0, 0);
let monotonic = 0;
const clock: Clock = { now: () => wall, monotonic: () => monotonic };
const bearer = (key: string) => new Headers({ authorization: `Bearer ${key}` });
const scopes = { routes: ["openai"], models: ["openai/gpt-4o-mini*"], mcpServers: [], metricsRead: false };

async function refusal(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (err) {
    if (err instanceof GatewayError) return `${err.status} ${err.message}`;
    throw err;
  }
  return "accepted";
}

beforeAll(async () => {
  db = openSqlite(":memory:");
  await migrateToLatest(db);
});
afterAll(() => db.destroy());

describe("service accounts", () => {
  it("create shows the key once with its prefix; the store keeps only a hash", async () => {
    const accounts = new ServiceAccounts(db, clock);
    const { account, key } = await accounts.create({ name: "ci-reviewer", ownerGroup: "eng", scopes, createdBy: "test" });
    expect(key.key).toMatch(/^ghsa_[A-Za-z0-9_-]{43}$/);
    expect(key.record.hint).toBe(`${key.key.slice(0, 11)}…`);
    const rows = await db.selectFrom("service_account_keys").selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(key.key.slice(5));
    expect((await accounts.list()).map((a) => [a.name, a.activeKeys])).toEqual([["ci-reviewer", 1]]);
    await expect(accounts.create({ name: "ci-reviewer", ownerGroup: "eng", scopes, createdBy: "test" })).rejects.toThrow(/exists already/);
    await expect(accounts.create({ name: "Bad Name!", ownerGroup: "eng", scopes, createdBy: "test" })).rejects.toThrow(/2–63 characters/);

    const verifier = new ServiceAccountVerifier(accounts, clock, FRESH_MS);
    const caller = await verifier.authenticate(key.key);
    expect(caller).toMatchObject({ id: account.id, email: undefined, groups: ["eng"], team: "eng", tokenId: key.record.id, serviceAccount: { name: "ci-reviewer", routes: ["openai"] } });
  });

  it("rotation: old and new key both work during rollover; the old one is refused after revoke, on every instance within the bound", async () => {
    const accounts = new ServiceAccounts(db, clock);
    const { key: oldKey } = await accounts.create({ name: "batch-job", ownerGroup: "data", scopes, createdBy: "test" });
    // Two gateway instances on one store.
    const a = new ServiceAccountVerifier(accounts, clock, FRESH_MS);
    const b = new ServiceAccountVerifier(new ServiceAccounts(db, clock), clock, FRESH_MS);
    expect((await a.authenticate(oldKey.key)).serviceAccount?.name).toBe("batch-job");
    expect((await b.authenticate(oldKey.key)).serviceAccount?.name).toBe("batch-job");

    const newKey = await accounts.addKey("batch-job");
    expect(newKey.key).not.toBe(oldKey.key);
    for (const v of [a, b]) {
      expect((await v.authenticate(oldKey.key)).tokenId).toBe(oldKey.record.id);
      expect((await v.authenticate(newKey.key)).tokenId).toBe(newKey.record.id);
    }

    await accounts.revokeKey("batch-job", oldKey.record.id, "rotated");
    monotonic += FRESH_MS + 1;
    for (const v of [a, b]) {
      expect(await refusal(() => v.authenticate(oldKey.key))).toMatch(/^401 Service account key is unknown or revoked/);
      expect((await v.authenticate(newKey.key)).tokenId).toBe(newKey.record.id);
    }
    expect((await accounts.listKeys("batch-job")).map((k) => k.revokedReason)).toEqual(["rotated", null]);
    await expect(accounts.revokeKey("batch-job", oldKey.record.id, "again")).rejects.toThrow(/no live key/);
    // Another account's key id cannot be revoked through this account's name.
    const other = await accounts.create({ name: "other", ownerGroup: "data", scopes, createdBy: "test" });
    await expect(accounts.revokeKey("batch-job", other.key.record.id, "x")).rejects.toThrow(/no live key/);
  });

  it("expiry: an expired key, and every key of an expired account, are refused (also from the cache)", async () => {
    const accounts = new ServiceAccounts(db, clock);
    const verifier = new ServiceAccountVerifier(accounts, clock, 60_000);
    const { key: shortKey } = await accounts.create({ name: "short-lived", ownerGroup: "eng", scopes, createdBy: "test" }, 60_000);
    const { key: accountKey } = await accounts.create({ name: "expiring-account", ownerGroup: "eng", scopes, createdBy: "test", expiresAt: wall + 120_000 });
    expect((await verifier.authenticate(shortKey.key)).serviceAccount?.name).toBe("short-lived");
    expect((await verifier.authenticate(accountKey.key)).serviceAccount?.name).toBe("expiring-account");
    wall += 60_000;
    expect(await refusal(() => verifier.authenticate(shortKey.key))).toMatch(/^401 Service account key has expired/);
    expect((await verifier.authenticate(accountKey.key)).serviceAccount?.name).toBe("expiring-account");
    wall += 60_000;
    expect(await refusal(() => verifier.authenticate(accountKey.key))).toMatch(/^401 Service account key has expired/);
    // A fresh verifier (another instance, nothing cached) refuses as well.
    expect(await refusal(() => new ServiceAccountVerifier(accounts, clock, 60_000).authenticate(accountKey.key))).toMatch(/^401 .*expired/);
    await expect(accounts.create({ name: "past", ownerGroup: "eng", scopes, createdBy: "test", expiresAt: wall - 1 })).rejects.toThrow(/in the past/);
  });

  it("unknown, truncated and look-alike keys are refused", async () => {
    const accounts = new ServiceAccounts(db, clock);
    const { key } = await accounts.create({ name: "lookalike", ownerGroup: "eng", scopes, createdBy: "test" });
    const verifier = new ServiceAccountVerifier(accounts, clock, FRESH_MS);
    for (const forged of [`${key.key}x`, key.key.slice(0, -1), key.key.toUpperCase().replace("GHSA_", "ghsa_"), "ghsa_", `ghsa_${"A".repeat(43)}`]) {
      expect(await refusal(() => verifier.authenticate(forged)), forged).toMatch(/^401 /);
    }
  });

  it("every auth mode accepts a key from any credential header; jwt mode verifies it without the IdP (behind an IAP)", async () => {
    const accounts = new ServiceAccounts(db, clock);
    const { account, key } = await accounts.create({ name: "iap-bot", ownerGroup: "eng", scopes, createdBy: "test" });
    // The JWKS URL answers nothing: the key must not need it.
    const jwt = createIdentity(parseSettings({}, { authMode: "jwt", publicUrl: "https://gatehouse.example.com", jwtJwksUrl: "http://127.0.0.1:9/jwks", jwtIssuer: "https://iap.example.com", jwtAudience: "aud", jwtHeader: "cf-access-jwt-assertion" }), {
      db,
      clock,
      logger: silentLogger,
    });
    for (const headers of [
      bearer(key.key),
      new Headers({ "x-api-key": key.key }),
      new Headers({ "x-goog-api-key": key.key }),
      new Headers({ "cf-access-token": key.key }),
      new Headers({ "cf-access-jwt-assertion": "eyJhbGciOiJSUzI1NiJ9.e30.sig", authorization: `Bearer ${key.key}` }),
    ]) {
      expect((await jwt.authenticator.authenticate(headers)).id).toBe(account.id);
    }
    await accounts.revokeKey("iap-bot", key.record.id, "leaked");
    monotonic += 10_000;
    expect(await refusal(() => jwt.authenticator.authenticate(bearer(key.key)))).toMatch(/^401 Service account key is unknown or revoked/);
  });
});

describe("service account input", () => {
  it("refuses unknown routes and model scopes that are not provider/model globs, naming the fix", async () => {
    const accounts = new ServiceAccounts(db, clock);
    await expect(accounts.create({ name: "typo-route", ownerGroup: "eng", scopes: { routes: ["opneai"] }, createdBy: "t" })).rejects.toThrow(/a route is a provider id \(anthropic, openai/);
    await expect(accounts.create({ name: "typo-model", ownerGroup: "eng", scopes: { routes: ["openai"], models: ["gpt-4o"] }, createdBy: "t" })).rejects.toThrow(/provider\/model/);
    await expect(accounts.create({ name: "no-route", ownerGroup: "eng", scopes: { routes: [] }, createdBy: "t" })).rejects.toThrow(/at least one route/);
  });
});
