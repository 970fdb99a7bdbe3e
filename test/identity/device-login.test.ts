import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { createApp } from "../../src/core/app.ts";
import type { Clock } from "../../src/core/clock.ts";
import type { AppDeps } from "../../src/core/deps.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { ConfigHolder, orgConfigSchema } from "../../src/config/index.ts";
import { migrateToLatest, type Database } from "../../src/store/index.ts";
import { createIdentity, createLoginModule, generateSigningJwk, importSigningKey, type Identity } from "../../src/identity/index.ts";
import { LOGIN_TTL_MS, POLL_INTERVAL_SECONDS } from "../../src/identity/login/device-flow.ts";

let db: Kysely<Database>;
let identity: Identity;
let app: ReturnType<typeof createApp>;
const BASE = "http://127.0.0.1:8787";
// A clock that stands still unless a test moves it: a login's expiry and the poll interval
// are checked to the millisecond by moving time, not by waiting for it.
const T0 = Date.now();
let skewMs = 0;
const clock: Clock = { now: () => T0 + skewMs, monotonic: () => skewMs };

beforeAll(async () => {
  db = openSqlite(":memory:");
  await migrateToLatest(db);
  const settings = parseSettings({}, { authMode: "dev" });
  identity = createIdentity(settings, { db, clock, logger: silentLogger, signingKey: await importSigningKey(await generateSigningJwk()) });
  const deps: AppDeps = { settings, logger: silentLogger, clock, db, config: new ConfigHolder(orgConfigSchema.parse({})), authenticator: identity.authenticator, secrets: { get: () => undefined } };
  app = createApp(deps, [createLoginModule({ settings, identity, logger: silentLogger })]);
});
afterAll(() => db.destroy());

const form = (fields: Record<string, string>, headers: Record<string, string> = {}) => ({ method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams(fields).toString() });
/** Opens the confirm page as a browser would: its CSRF field and the cookie that must come back with it. */
const openConfirm = async (userCode: string) => {
  const res = await app.request(`${BASE}/auth/device/verify?user_code=${encodeURIComponent(userCode)}`);
  const page = await res.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  return { page, csrf, cookie };
};
const poll = async (deviceCode: string) => {
  const res = await app.request(`${BASE}/auth/device/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ device_code: deviceCode }) });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
};

describe("device login (dev mode)", () => {
  it("start → pending → approve in the browser → one token, usable once; then expired", async () => {
    const start = (await (await app.request(`${BASE}/auth/device`, { method: "POST" })).json()) as Record<string, string>;
    expect(start["user_code"]).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    expect(start["verification_uri_complete"]).toBe(`${BASE}/auth/device/verify?user_code=${start["user_code"]}`);
    expect(await poll(start["device_code"] as string)).toEqual({ status: 400, body: { error: "authorization_pending" } });

    const { page, csrf, cookie } = await openConfirm(start["user_code"] as string);
    expect(page).toContain(start["user_code"]);
    expect(cookie).toMatch(/^gatehouse_login_csrf=/);
    const done = await app.request(`${BASE}/auth/device/verify`, form({ user_code: (start["user_code"] as string).toLowerCase().replace("-", ""), action: "approve", email: "Dev@Example.com", csrf }, { "sec-fetch-site": "same-origin", cookie }));
    expect(await done.text()).toContain("Signed in as <strong>dev@example.com</strong>");

    const granted = await poll(start["device_code"] as string);
    expect(granted.status).toBe(200);
    const caller = await identity.authenticator.authenticate(new Headers({ authorization: `Bearer ${granted.body["access_token"]}` }));
    expect(caller.email).toBe("dev@example.com");
    expect(caller.id).toBe(await identity.anonymousIds.idFor("dev@example.com"));
    expect((await poll(start["device_code"] as string)).body["error"]).toBe("expired_token");
  });

  it("refuses a cross-site form post, an unknown code and a wrong device code", async () => {
    const start = (await (await app.request(`${BASE}/auth/device`, { method: "POST" })).json()) as Record<string, string>;
    const { csrf, cookie } = await openConfirm(start["user_code"] as string);
    const cross = await app.request(`${BASE}/auth/device/verify`, form({ user_code: start["user_code"] as string, action: "approve", email: "x@example.com", csrf }, { "sec-fetch-site": "cross-site", cookie }));
    expect(cross.status).toBe(403);
    const foreignOrigin = await app.request(`${BASE}/auth/device/verify`, form({ user_code: start["user_code"] as string, action: "approve", email: "x@example.com", csrf }, { origin: "http://evil.example", cookie }));
    expect(foreignOrigin.status).toBe(403);
    // A page of another site cannot read the token nor send the SameSite=Strict cookie.
    const noToken = await app.request(`${BASE}/auth/device/verify`, form({ user_code: start["user_code"] as string, action: "approve", email: "x@example.com" }, { cookie }));
    expect(noToken.status).toBe(403);
    const noCookie = await app.request(`${BASE}/auth/device/verify`, form({ user_code: start["user_code"] as string, action: "approve", email: "x@example.com", csrf }));
    expect(noCookie.status).toBe(403);
    const wrongToken = await app.request(`${BASE}/auth/device/verify`, form({ user_code: start["user_code"] as string, action: "approve", email: "x@example.com", csrf: `${csrf}x` }, { cookie }));
    expect(wrongToken.status).toBe(403);
    expect((await poll(start["device_code"] as string)).body["error"]).toBe("authorization_pending");
    expect((await app.request(`${BASE}/auth/device/verify?user_code=ZZZZ-ZZZZ`)).status).toBe(404);
    expect((await poll("not-a-device-code")).body["error"]).toBe("expired_token");
    const denied = await app.request(`${BASE}/auth/device/verify`, form({ user_code: start["user_code"] as string, action: "deny", csrf }, { cookie }));
    expect(denied.status).toBe(200);
    expect((await poll(start["device_code"] as string)).body["error"]).toBe("access_denied");
  });

  it("publishes the public signing key (no private part)", async () => {
    const jwks = (await (await app.request(`${BASE}/auth/jwks.json`)).json()) as { keys: Array<Record<string, string>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256" });
    expect(jwks.keys[0]?.["d"]).toBeUndefined();
  });

  it("a pending login expires after its lifetime, and a CLI polling faster than the interval is told to slow down", async () => {
    try {
      const start = (await (await app.request(`${BASE}/auth/device`, { method: "POST" })).json()) as Record<string, string>;
      const deviceCode = start["device_code"] as string;
      expect(Number(start["expires_in"])).toBe(LOGIN_TTL_MS / 1000);
      expect((await poll(deviceCode)).body["error"]).toBe("authorization_pending");
      // Hammering the token endpoint: the second poll inside half the interval is slow_down.
      expect((await poll(deviceCode)).body["error"]).toBe("slow_down");
      skewMs += (POLL_INTERVAL_SECONDS * 1000) / 2;
      expect((await poll(deviceCode)).body["error"]).toBe("authorization_pending");

      // 1 ms before the end of its lifetime the browser can still open it; at the end, nothing.
      skewMs += LOGIN_TTL_MS - (POLL_INTERVAL_SECONDS * 1000) / 2 - 1;
      const { csrf, cookie } = await openConfirm(start["user_code"] as string);
      expect(csrf).not.toBe("");
      skewMs += 1;
      const late = await app.request(`${BASE}/auth/device/verify`, form({ user_code: start["user_code"] as string, action: "approve", email: "late@example.com", csrf }, { "sec-fetch-site": "same-origin", cookie }));
      expect(late.status).not.toBe(200);
      expect(await late.text()).not.toContain("Signed in as");
      expect((await poll(deviceCode)).body["error"]).toBe("expired_token");
      expect((await app.request(`${BASE}/auth/device/verify?user_code=${encodeURIComponent(start["user_code"] as string)}`)).status).toBe(404);
    } finally {
      skewMs = 0;
    }
  });
});
