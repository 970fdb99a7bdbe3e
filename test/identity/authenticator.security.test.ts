import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair, type JWK } from "jose";
import type { Kysely } from "kysely";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { systemClock, type Clock } from "../../src/core/clock.ts";
import { GatewayError } from "../../src/core/errors.ts";
import { migrateToLatest, type Database } from "../../src/store/index.ts";
import { createIdentity, generateSigningJwk, importSigningKey, IdentityAdmin, type Identity } from "../../src/identity/index.ts";

const ISSUER = "https://team.cloudflareaccess.com";
const AUD = "aud-tag-123";

interface Jwks {
  server: Server;
  url: string;
  keys: JWK[];
  fetches: number;
}

async function startJwks(keys: JWK[]): Promise<Jwks> {
  const state: Jwks = { server: createServer(), url: "", keys, fetches: 0 };
  state.server.on("request", (_req, res) => {
    state.fetches++;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((r) => state.server.listen(0, "127.0.0.1", r));
  state.url = `http://127.0.0.1:${(state.server.address() as AddressInfo).port}/cdn-cgi/access/certs`;
  return state;
}

async function rsaKey(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  return { privateKey, jwk };
}

const headers = (token: string) => new Headers({ "cf-access-jwt-assertion": token });

async function rejectMessage(identity: Identity, token: string): Promise<string> {
  try {
    await identity.authenticator.authenticate(headers(token));
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(401);
    const message = (err as GatewayError).message;
    // Non-leaking: never the token, the expected issuer or audience.
    expect(message).not.toContain(token.slice(0, 20));
    expect(message).not.toContain(ISSUER);
    expect(message).not.toContain(AUD);
    return message;
  }
  throw new Error("token was accepted");
}

describe("jwt mode (identity-aware proxy) security", () => {
  let db: Kysely<Database>;
  let jwks: Jwks;
  let key: Awaited<ReturnType<typeof rsaKey>>;
  let identity: Identity;
  const sign = (claims: Record<string, unknown>, opts: { iss?: string; aud?: string; exp?: number; nbf?: number; kid?: string } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    let jwt = new SignJWT({ email: "Alice@Example.com", groups: ["platform"], ...claims })
      .setProtectedHeader({ alg: "RS256", kid: opts.kid ?? "k1" })
      .setIssuer(opts.iss ?? ISSUER)
      .setAudience(opts.aud ?? AUD)
      .setIssuedAt(now)
      .setExpirationTime(opts.exp ?? now + 600);
    if (opts.nbf !== undefined) jwt = jwt.setNotBefore(opts.nbf);
    return jwt.sign(key.privateKey);
  };

  beforeAll(async () => {
    db = openSqlite(":memory:");
    await migrateToLatest(db);
    key = await rsaKey("k1");
    jwks = await startJwks([key.jwk]);
    const settings = parseSettings({}, { authMode: "jwt", publicUrl: "https://gatehouse.example.com", jwtJwksUrl: jwks.url, jwtIssuer: ISSUER, jwtAudience: AUD, jwksCooldownMs: 1500 });
    identity = createIdentity(settings, { db, clock: systemClock, logger: silentLogger });
  });
  afterAll(async () => {
    jwks.server.close();
    await db.destroy();
  });

  it("accepts a valid token and maps the email to a stable anonymous UUID", async () => {
    const caller = await identity.authenticator.authenticate(headers(await sign({})));
    expect(caller.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(caller.email).toBe("Alice@Example.com");
    expect(caller.groups).toEqual(["platform"]);
    const again = await identity.authenticator.authenticate(new Headers({ authorization: `Bearer ${await sign({ email: "alice@example.com" })}` }));
    expect(again.id).toBe(caller.id);
    const rows = await db.selectFrom("identities").selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.email).toBe("alice@example.com");
  });

  it("verifies a token once, then serves it from the cache (no JWKS fetch, no DB)", async () => {
    const token = await sign({ email: "cache@example.com" });
    await identity.authenticator.authenticate(headers(token));
    const fetches = jwks.fetches;
    await db.deleteFrom("identities").where("email", "=", "cache@example.com").execute();
    const caller = await identity.authenticator.authenticate(headers(token));
    expect(caller.email).toBe("cache@example.com");
    expect(jwks.fetches).toBe(fetches);
  });

  it("rejects a missing token", async () => {
    await expect(identity.authenticator.authenticate(new Headers())).rejects.toThrow(/Missing gateway token/);
  });

  it("rejects alg: none", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = new UnsecuredJWT({ email: "eve@example.com" })
      .setIssuer(ISSUER)
      .setAudience(AUD)
      .setExpirationTime(now + 600)
      .encode();
    expect(await rejectMessage(identity, token)).toMatch(/algorithm|malformed/);
  });

  it("rejects HS256 signed with the public key as the secret", async () => {
    const secret = new TextEncoder().encode(JSON.stringify(key.jwk));
    const token = await new SignJWT({ email: "eve@example.com" }).setProtectedHeader({ alg: "HS256", kid: "k1" }).setIssuer(ISSUER).setAudience(AUD).setExpirationTime("10m").sign(secret);
    expect(await rejectMessage(identity, token)).toMatch(/algorithm/);
  });

  it("rejects a wrong issuer", async () => {
    expect(await rejectMessage(identity, await sign({}, { iss: "https://evil.example" }))).toMatch(/issuer/);
  });

  it("rejects a wrong audience", async () => {
    expect(await rejectMessage(identity, await sign({}, { aud: "other-app" }))).toMatch(/audience/);
  });

  it("rejects an expired token", async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await rejectMessage(identity, await sign({}, { exp: now - 60 }))).toMatch(/expired/);
  });

  it("rejects a not-yet-valid token", async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await rejectMessage(identity, await sign({}, { nbf: now + 600 }))).toMatch(/not valid yet/);
  });

  it("rejects a tampered payload", async () => {
    const [h, , s] = (await sign({})).split(".");
    const forged = Buffer.from(JSON.stringify({ email: "ceo@example.com", iss: ISSUER, aud: AUD, exp: Math.floor(Date.now() / 1000) + 600 })).toString("base64url");
    expect(await rejectMessage(identity, `${h}.${forged}.${s}`)).toMatch(/signature/);
  });

  describe("JWKS refetch cooldown", () => {
    // jose times the cooldown with Date.now(): only Date is faked (the JWKS server's sockets and
    // timers stay real), and it stands still unless a test moves it, so "within the cooldown"
    // does not depend on how long RSA key generation takes on a loaded machine.
    afterEach(() => {
      vi.useRealTimers();
    });

    it("re-fetches the JWKS once on an unknown kid (rotation), and refuses an unknown kid without hammering the JWKS", async () => {
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
      const rotated = await rsaKey("k2");
      jwks.keys = [key.jwk, rotated.jwk];
      const token = await new SignJWT({ email: "rotated@example.com" }).setProtectedHeader({ alg: "RS256", kid: "k2" }).setIssuer(ISSUER).setAudience(AUD).setExpirationTime("10m").sign(rotated.privateKey);
      const stranger = await rsaKey("k3");
      const unknown = await new SignJWT({ email: "eve@example.com" }).setProtectedHeader({ alg: "RS256", kid: "k3" }).setIssuer(ISSUER).setAudience(AUD).setExpirationTime("10m").sign(stranger.privateKey);
      vi.setSystemTime(Date.now() + 1_501); // past the cooldown of the earlier tests' fetch
      const before = jwks.fetches;
      const caller = await identity.authenticator.authenticate(headers(token));
      expect(caller.email).toBe("rotated@example.com");
      expect(jwks.fetches).toBe(before + 1);

      // 1.499 s later, still within the cooldown: refused without a refetch, however often.
      vi.setSystemTime(Date.now() + 1_499);
      for (let i = 0; i < 5; i++) expect(await rejectMessage(identity, unknown)).toMatch(/key this gateway does not know/);
      expect(jwks.fetches).toBe(before + 1);

      // Once the cooldown is over, one refetch (the key might have been published meanwhile), then quiet again.
      vi.setSystemTime(Date.now() + 2);
      expect(await rejectMessage(identity, unknown)).toMatch(/key this gateway does not know/);
      expect(await rejectMessage(identity, unknown)).toMatch(/key this gateway does not know/);
      expect(jwks.fetches).toBe(before + 2);
    });
  });

  it("refuses HS* and none in the algorithm allow-list", () => {
    const settings = parseSettings({}, { authMode: "jwt", publicUrl: "https://gatehouse.example.com", jwtJwksUrl: jwks.url, jwtIssuer: ISSUER, jwtAudience: AUD, jwtAlgorithms: "RS256,HS256" });
    expect(() => createIdentity(settings, { db, clock: systemClock, logger: silentLogger })).toThrow(/must not contain HS256/);
  });
});

describe("Gatehouse tokens (dev/oidc modes)", () => {
  let db: Kysely<Database>;
  let identity: Identity;
  const POLL_MS = 200;
  // Wall time is real (token expiry); the monotonic clock that ages the revocation list moves
  // only when a test moves it, so "within a poll interval" does not depend on machine load.
  let monotonic = 0;
  const clock: Clock = { now: () => Date.now(), monotonic: () => monotonic };

  beforeAll(async () => {
    db = openSqlite(":memory:");
    await migrateToLatest(db);
    const signingKey = await importSigningKey(await generateSigningJwk());
    identity = createIdentity(parseSettings({}, { authMode: "dev", revocationPollMs: POLL_MS }), { db, clock, logger: silentLogger, signingKey });
  });
  afterAll(() => db.destroy());

  async function issue(email: string) {
    const callerId = await identity.anonymousIds.idFor(email);
    return (identity.issuer as NonNullable<Identity["issuer"]>).issue({ email, callerId, groups: ["eng"], source: "cli", ttlSeconds: 3600 });
  }

  it("accepts an issued token from any client header; sub is the anonymous id", async () => {
    const issued = await issue("bob@example.com");
    const id = await identity.anonymousIds.idFor("bob@example.com");
    const variants: Record<string, string>[] = [{ "cf-access-token": issued.token }, { authorization: `Bearer ${issued.token}` }, { "x-api-key": issued.token }, { "x-goog-api-key": issued.token }];
    for (const h of variants) {
      const caller = await identity.authenticator.authenticate(new Headers({ "x-api-key": "", ...h }));
      expect(caller).toMatchObject({ id, email: "bob@example.com", team: "eng", tokenId: issued.jti });
    }
  });

  it("rejects a revoked token within a poll interval, even when it is cached", async () => {
    const issued = await issue("carol@example.com");
    await identity.authenticator.authenticate(new Headers({ "cf-access-token": issued.token }));
    const admin = new IdentityAdmin(db, systemClock);
    expect(await admin.revoke({ jti: issued.jti }, "laptop stolen")).toBe(1);
    // One poll interval passes; from then on the clock stands still. The request that notices
    // starts a re-read in the background (it is not kept waiting); that re-read is a few SQLite
    // queries, done within one turn of the event loop. The revocation must take effect without
    // any further clock time: a bounded number of requests, one event-loop turn apart, no sleep.
    monotonic += POLL_MS + 1;
    let message = "";
    for (let turn = 0; turn < 20 && message === ""; turn++) {
      try {
        await identity.authenticator.authenticate(new Headers({ "cf-access-token": issued.token }));
        await new Promise((resolve) => setImmediate(resolve));
      } catch (err) {
        message = (err as Error).message;
      }
    }
    expect(message).toMatch(/revoked/);
  });

  it("after an idle spell, the first request waits for the re-read: a revoked token is refused at once", async () => {
    const issued = await issue("erin@example.com");
    await identity.authenticator.authenticate(new Headers({ "cf-access-token": issued.token }));
    expect(await new IdentityAdmin(db, systemClock).revoke({ jti: issued.jti }, "left the company")).toBe(1);
    monotonic += 2 * POLL_MS + 1;
    await expect(identity.authenticator.authenticate(new Headers({ "cf-access-token": issued.token }))).rejects.toThrow(/revoked/);
  });

  it("rejects a token signed by another Gatehouse's key", async () => {
    const otherKey = await importSigningKey(await generateSigningJwk());
    const token = await new SignJWT({ email: "mallory@example.com" })
      .setProtectedHeader({ alg: "ES256", kid: otherKey.kid })
      .setIssuer("gatehouse")
      .setAudience("gatehouse-gateway")
      .setSubject(crypto.randomUUID())
      .setJti("x")
      .setExpirationTime("1h")
      .sign(otherKey.privateKey);
    await expect(identity.authenticator.authenticate(new Headers({ "cf-access-token": token }))).rejects.toThrow(/signature is invalid/);
  });

  it("audits every resolve of an anonymous id", async () => {
    const id = await identity.anonymousIds.idFor("dave@example.com");
    const admin = new IdentityAdmin(db, systemClock);
    await expect(admin.resolve(id, "admin@example.com", "")).rejects.toThrow(/reason is required/);
    expect(await admin.resolve(id, "admin@example.com", "incident 42")).toBe("dave@example.com");
    const log = await admin.auditLog();
    expect(log[0]).toMatchObject({ actor: "admin@example.com", callerId: id, reason: "incident 42", action: "resolve" });
    expect(log).toHaveLength(1);
  });
});

describe("dev mode guard", () => {
  it("is refused on a non-loopback address unless enabled", async () => {
    const db = openSqlite(":memory:");
    const signingKey = await importSigningKey(await generateSigningJwk());
    expect(() => createIdentity(parseSettings({}, { authMode: "dev", host: "0.0.0.0" }), { db, clock: systemClock, logger: silentLogger, signingKey })).toThrow(/refused on a non-loopback/);
    expect(() => createIdentity(parseSettings({ GATEHOUSE_ALLOW_DEV_AUTH: "true" }, { authMode: "dev", host: "0.0.0.0" }), { db, clock: systemClock, logger: silentLogger, signingKey })).not.toThrow();
    await db.destroy();
  });
});
