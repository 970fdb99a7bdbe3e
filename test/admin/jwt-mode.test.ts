import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../gateway/harness.ts";

/**
 * jwt mode (behind an identity-aware proxy: the tokens are the proxy's, Gatehouse signs
 * none): the admin is whoever the proxy's token puts in an admin group, and the API revokes
 * the proxy's tokens by sub, email, jti and group. Real gateway, a local JWKS server.
 */
const ISSUER = "https://team.cloudflareaccess.com";
const AUD = "aud-tag";
let jwks: Server;
let privateKey: CryptoKey;
let h: Harness;

beforeAll(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  privateKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  jwks = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((r) => jwks.listen(0, "127.0.0.1", r));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/certs`;
  h = await startHarness({}, { GATEHOUSE_AUTH_MODE: "jwt", GATEHOUSE_PUBLIC_URL: "https://gatehouse.example.com", GATEHOUSE_JWT_JWKS_URL: jwksUrl, GATEHOUSE_JWT_ISSUER: ISSUER, GATEHOUSE_JWT_AUDIENCE: AUD, GATEHOUSE_REVOCATION_POLL_MS: "200" });
}, 60_000);
afterAll(async () => {
  await h?.close();
  jwks?.close();
});

/** The proxy's token; iat a minute ago (before any revocation this file makes). */
function iapToken(claims: { sub: string; email: string; groups: string[]; jti?: string }): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({ email: claims.email, groups: claims.groups })
    .setProtectedHeader({ alg: "RS256", kid: "k1" })
    .setIssuer(ISSUER)
    .setAudience(AUD)
    .setSubject(claims.sub)
    .setIssuedAt(now - 60)
    .setExpirationTime(now + 3600);
  if (claims.jti) jwt = jwt.setJti(claims.jti);
  return jwt.sign(privateKey);
}

const asProxy = (token: string) => ({ "cf-access-jwt-assertion": token });
async function call(method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(`${h.gateway.url}${path}`, { method, headers: { ...asProxy(token), ...(body !== undefined ? { "content-type": "application/json" } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("the admin API in jwt mode", () => {
  it("an admin by the proxy's groups revokes the proxy's tokens by sub, email, jti and group; each is refused at once", async () => {
    const admin = await iapToken({ sub: "idp|root", email: "root@example.com", groups: ["admin"] });
    const targets = {
      sub: await iapToken({ sub: "idp|alice", email: "alice@example.com", groups: ["eng"] }),
      email: await iapToken({ sub: "idp|bob", email: "bob@example.com", groups: ["eng"] }),
      jti: await iapToken({ sub: "idp|carol", email: "carol@example.com", groups: ["eng"], jti: "leaked-1" }),
      group: await iapToken({ sub: "idp|dave", email: "dave@example.com", groups: ["contractors"] }),
    };
    const bystander = await iapToken({ sub: "idp|erin", email: "erin@example.com", groups: ["eng"], jti: "other" });
    // A person outside the admin groups is refused, whatever the proxy vouches for.
    expect((await call("GET", "/admin/v1/revocations", targets.sub)).status).toBe(403);
    for (const t of [...Object.values(targets), bystander]) expect((await call("GET", "/admin/v1/tokens", t)).status).toBe(403);

    const values = { sub: "idp|alice", email: "Bob@Example.com", jti: "leaked-1", group: "contractors" } as const;
    for (const kind of ["sub", "email", "jti", "group"] as const) {
      const revoked = await call("POST", "/admin/v1/revocations", admin, { kind, value: values[kind], reason: "test" });
      expect(revoked.status, kind).toBe(201);
      const refused = await call("GET", "/admin/v1/tokens", targets[kind]);
      expect(refused.status, kind).toBe(401);
      expect((refused.body["error"] as { message: string }).message).toMatch(/revoked/);
    }
    expect((await call("GET", "/admin/v1/tokens", bystander)).status).toBe(403);
    const audit = await call("GET", "/admin/v1/audit?outcome=ok", admin);
    expect((audit.body["entries"] as Array<{ action: string; actor: { name: string } }>).map((e) => `${e.actor.name} ${e.action}`)).toEqual(
      expect.arrayContaining(["root@example.com token.revoke_sub", "root@example.com token.revoke_email", "root@example.com token.revoke_jti", "root@example.com token.revoke_group"]),
    );
  });
});
