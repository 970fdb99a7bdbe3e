import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore } from "../../src/adapters/node/postgres.ts";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import type { Clock } from "../../src/core/clock.ts";
import { GatewayError } from "../../src/core/errors.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { createIdentity, IdentityAdmin, ServiceAccounts, type Identity } from "../../src/identity/index.ts";
import { migrateToLatest, type Database } from "../../src/store/index.ts";
import { startTestDatabase, type TestDatabase } from "./postgres.ts";

/**
 * jwt mode (tokens signed by an identity-aware proxy, not by Gatehouse): revocation by `sub`,
 * email and `jti`, made through one instance, refuses on the other within the poll bound.
 * Two gateway instances = two identities on two connections to one store: real PostgreSQL
 * (two pools) and real SQLite (two connections to one file).
 */
const ISSUER = "https://team.cloudflareaccess.com";
const AUD = "aud-tag";
const POLL_MS = 200;

let jwksServer: Server;
let jwksUrl = "";
let privateKey: CryptoKey;
let database: TestDatabase | undefined;

beforeAll(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  privateKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  jwksServer = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((r) => jwksServer.listen(0, "127.0.0.1", r));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/certs`;
}, 30_000);
afterAll(async () => {
  jwksServer.close();
  await database?.close();
});

/** An IAP token; iat one minute ago unless given (seconds, as JWTs carry it). */
function iapToken(claims: { sub: string; email: string; jti?: string; iat?: number }): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({ email: claims.email, groups: ["eng"] })
    .setProtectedHeader({ alg: "RS256", kid: "k1" })
    .setIssuer(ISSUER)
    .setAudience(AUD)
    .setSubject(claims.sub)
    .setIssuedAt(claims.iat ?? now - 60)
    .setExpirationTime(now + 3600);
  if (claims.jti) jwt = jwt.setJti(claims.jti);
  return jwt.sign(privateKey);
}

async function outcome(identity: Identity, token: string): Promise<string> {
  try {
    await identity.authenticator.authenticate(new Headers({ "cf-access-jwt-assertion": token }));
    return "accepted";
  } catch (err) {
    if (err instanceof GatewayError) return `${err.status} ${err.message}`;
    throw err;
  }
}

const stores: Array<{ name: string; open: () => Promise<[Kysely<Database>, Kysely<Database>]> }> = [
  {
    name: "SQLite (two connections to one file)",
    async open() {
      const file = join(mkdtempSync(join(tmpdir(), "gatehouse-revoke-")), "gatehouse.db");
      const a = openSqlite(file);
      await migrateToLatest(a);
      return [a, openSqlite(file)];
    },
  },
  {
    name: "PostgreSQL (two pools)",
    async open() {
      database = await startTestDatabase();
      return [await openPostgresStore(database.url), await openPostgresStore(database.url)];
    },
  },
];

describe.each(stores)("jwt-mode revocation across two instances: $name", ({ open }) => {
  let dbA: Kysely<Database>;
  let dbB: Kysely<Database>;
  let a: Identity;
  let b: Identity;
  // Each instance ages its revocation list on a monotonic clock the test moves, so "within the
  // poll bound" does not depend on machine load; wall time is real (token iat/exp).
  let monotonic = 0;
  const clock: Clock = { now: () => Date.now(), monotonic: () => monotonic };
  const settings = () => parseSettings({}, { authMode: "jwt", publicUrl: "https://gatehouse.example.com", jwtJwksUrl: jwksUrl, jwtIssuer: ISSUER, jwtAudience: AUD, revocationPollMs: POLL_MS });
  const pastPollBound = () => {
    monotonic += 2 * POLL_MS + 1;
  };

  beforeAll(async () => {
    [dbA, dbB] = await open();
    a = createIdentity(settings(), { db: dbA, clock, logger: silentLogger });
    b = createIdentity(settings(), { db: dbB, clock, logger: silentLogger });
  }, 120_000);
  afterAll(async () => {
    await dbA?.destroy();
    await dbB?.destroy();
  });

  it("by sub: every token of the subject issued up to the revocation is refused on both; a later sign-in works", async () => {
    const old = await iapToken({ sub: "idp|alice", email: "alice@example.com" });
    expect(await outcome(a, old)).toBe("accepted");
    expect(await outcome(b, old)).toBe("accepted");
    await new IdentityAdmin(dbA, clock).revokeIdentity({ kind: "sub", value: "idp|alice" }, "laptop stolen", "test");
    pastPollBound();
    expect(await outcome(a, old)).toMatch(/^401 Gateway token has been revoked/);
    expect(await outcome(b, old)).toMatch(/^401 Gateway token has been revoked/);
    // Another subject is untouched; a token issued after the revocation (a new sign-in) works.
    expect(await outcome(b, await iapToken({ sub: "idp|bob", email: "bob@example.com" }))).toBe("accepted");
    const fresh = await iapToken({ sub: "idp|alice", email: "alice@example.com", iat: Math.floor(Date.now() / 1000) + 2 });
    expect(await outcome(b, fresh)).toBe("accepted");
  });

  it("by email (any spelling), and by jti", async () => {
    const byEmail = await iapToken({ sub: "idp|carol", email: "Carol@Example.com" });
    const byJti = await iapToken({ sub: "idp|dave", email: "dave@example.com", jti: "leaked-jti-1" });
    const sibling = await iapToken({ sub: "idp|dave", email: "dave@example.com", jti: "other-jti" });
    for (const t of [byEmail, byJti, sibling]) expect(await outcome(b, t)).toBe("accepted");
    const admin = new IdentityAdmin(dbA, clock);
    await admin.revokeIdentity({ kind: "email", value: " CAROL@example.COM " }, "left", "test");
    await admin.revokeIdentity({ kind: "jti", value: "leaked-jti-1" }, "leaked", "test");
    pastPollBound();
    expect(await outcome(b, byEmail)).toMatch(/^401 .*revoked/);
    expect(await outcome(b, byJti)).toMatch(/^401 .*revoked/);
    expect(await outcome(b, sibling)).toBe("accepted");
    expect((await admin.listIdentityRevocations()).map((r) => [r.kind, r.value])).toEqual(
      expect.arrayContaining([
        ["email", "carol@example.com"],
        ["jti", "leaked-jti-1"],
      ]),
    );
  });

  it("a token without iat counts as issued before any revocation of its subject", async () => {
    const now = Math.floor(Date.now() / 1000);
    const noIat = await new SignJWT({ email: "erin@example.com" })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(ISSUER)
      .setAudience(AUD)
      .setSubject("idp|erin")
      .setExpirationTime(now + 3600)
      .sign(privateKey);
    expect(await outcome(b, noIat)).toBe("accepted");
    await new IdentityAdmin(dbA, clock).revokeIdentity({ kind: "sub", value: "idp|erin" }, "x", "test");
    pastPollBound();
    expect(await outcome(b, noIat)).toMatch(/^401 .*revoked/);
  });

  it("a service-account key revoked through one instance is refused by the other", async () => {
    const accounts = new ServiceAccounts(dbA, clock);
    const { key } = await accounts.create({ name: "revoke-bot", ownerGroup: "eng", scopes: { routes: ["openai"] }, createdBy: "test" });
    const headers = new Headers({ authorization: `Bearer ${key.key}` });
    expect((await b.authenticator.authenticate(headers)).serviceAccount?.name).toBe("revoke-bot");
    await accounts.revokeKey("revoke-bot", key.record.id, "leaked");
    pastPollBound();
    await expect(b.authenticator.authenticate(headers)).rejects.toThrow(/unknown or revoked/);
  });
});
