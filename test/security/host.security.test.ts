import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_TOKEN, startHarness, type Harness } from "../gateway/harness.ts";
import { freeLoopbackPort, startIdp, type TestIdp } from "../e2e/opencode-harness.ts";
import { rawRequest } from "./raw-http.ts";

/**
 * The attacker names the gateway with a Host of their own (DNS rebinding, a poisoned cache in
 * front of the gateway) or posts to it from a page of their own origin. Over real node:http,
 * where the request URL is built from the Host header byte for byte.
 */
const EVIL = "evil.example";
const chat = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });

describe("dev mode: loopback Host names only, Origin checked on writes", () => {
  let h: Harness;
  let port: string;
  beforeAll(async () => {
    h = await startHarness();
    port = new URL(h.gateway.url).port;
  });
  afterAll(() => h.close());

  it("refuses a Host of evil.example on every kind of route, before any route runs", async () => {
    for (const [method, target, body] of [
      ["GET", "/.well-known/opencode", undefined],
      ["GET", "/.well-known/oauth-protected-resource", undefined],
      ["GET", "/healthz", undefined],
      ["POST", "/auth/device", ""],
      ["POST", "/openai/v1/chat/completions", chat],
      ["GET", "/dashboard", undefined],
    ] as const) {
      for (const host of [`${EVIL}:${port}`, EVIL, `127.0.0.1.${EVIL}:${port}`, `localhost.${EVIL}`, `[::2]:${port}`]) {
        const res = await rawRequest(h.gateway.url, method, target, { host, authorization: `Bearer ${CLIENT_TOKEN}`, "content-type": "application/json" }, body);
        expect(res.status, `${method} ${target} Host ${host}`).toBe(403);
        expect(res.text).not.toContain(EVIL);
        expect(res.text).toContain("loopback host names");
      }
    }
    // Nothing was forwarded: the dev token could not spend the provider keys.
    expect(h.fake.requests.length).toBe(0);
  });

  it("answers for 127.0.0.1, localhost and [::1] with a port, and serves their own origin", async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      const res = await rawRequest(h.gateway.url, "GET", "/.well-known/opencode", { host });
      expect(res.status, host).toBe(200);
      expect(res.text).toContain(`http://${host.toLowerCase()}/openai/v1`);
    }
  });

  it("refuses a state-changing request from another origin; a CLI (no Origin) and the gateway's own page pass", async () => {
    const host = `127.0.0.1:${port}`;
    const foreign: Record<string, string>[] = [
      { origin: `http://${EVIL}` },
      { origin: "null" },
      { origin: `http://localhost:${port}` },
      { origin: `http://127.0.0.1:${Number(port) + 1}` },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
      { origin: "null", "sec-fetch-site": "cross-site" },
      { origin: `http://${EVIL}`, "sec-fetch-site": "same-origin" },
    ];
    for (const headers of foreign) {
      const device = await rawRequest(h.gateway.url, "POST", "/auth/device", { host, ...headers }, "");
      expect(device.status, JSON.stringify(headers)).toBe(403);
      const spend = await rawRequest(h.gateway.url, "POST", "/openai/v1/chat/completions", { host, authorization: `Bearer ${CLIENT_TOKEN}`, "content-type": "application/json", ...headers }, chat);
      expect(spend.status, JSON.stringify(headers)).toBe(403);
      const logout = await rawRequest(h.gateway.url, "POST", "/dashboard/logout", { host, ...headers }, "");
      expect(logout.status, JSON.stringify(headers)).toBe(403);
    }
    expect(h.fake.requests.length).toBe(0);
    expect((await rawRequest(h.gateway.url, "POST", "/auth/device", { host }, "")).status).toBe(200);
    expect((await rawRequest(h.gateway.url, "POST", "/auth/device", { host, origin: `http://${host}`, "sec-fetch-site": "same-origin" }, "")).status).toBe(200);
    // The gateway's own no-referrer page: Chromium sends Origin: null, vouched for by Sec-Fetch-Site.
    expect((await rawRequest(h.gateway.url, "POST", "/auth/device", { host, origin: "null", "sec-fetch-site": "same-origin" }, "")).status).toBe(200);
    const cli = await rawRequest(h.gateway.url, "POST", "/openai/v1/chat/completions", { host, authorization: `Bearer ${CLIENT_TOKEN}`, "content-type": "application/json" }, chat);
    expect(cli.status).toBe(200);
    // Reading is not state-changing: a GET with a foreign Origin is answered (no CORS headers, so the page cannot read it).
    expect((await rawRequest(h.gateway.url, "GET", "/healthz", { host, origin: `http://${EVIL}` })).status).toBe(200);
  });
});

describe("oidc and jwt modes: GATEHOUSE_PUBLIC_URL is required and the only origin served", () => {
  const PUBLIC = "https://gatehouse.example.com";
  let idp: TestIdp;
  let h: Harness;
  beforeAll(async () => {
    idp = await startIdp();
    idp.attach(`${PUBLIC}/auth/callback`);
    h = await startHarness({}, { GATEHOUSE_AUTH_MODE: "oidc", GATEHOUSE_OIDC_ISSUER: idp.url, GATEHOUSE_OIDC_CLIENT_ID: "gatehouse", GATEHOUSE_OIDC_CLIENT_SECRET: "idp-client-secret-e2e", GATEHOUSE_PUBLIC_URL: PUBLIC });
  }, 60_000);
  afterAll(async () => {
    await h.close();
    await idp.close();
  });

  it("oidc and jwt refuse to start without a public URL, naming the setting", async () => {
    await expect(startHarness({}, { GATEHOUSE_AUTH_MODE: "oidc", GATEHOUSE_OIDC_ISSUER: idp.url, GATEHOUSE_OIDC_CLIENT_ID: "gatehouse" })).rejects.toThrow(/GATEHOUSE_AUTH_MODE=oidc needs GATEHOUSE_PUBLIC_URL/);
    await expect(startHarness({}, { GATEHOUSE_AUTH_MODE: "jwt", GATEHOUSE_JWT_JWKS_URL: `${idp.url}/jwks`, GATEHOUSE_JWT_ISSUER: idp.url, GATEHOUSE_JWT_AUDIENCE: "gatehouse" })).rejects.toThrow(/GATEHOUSE_AUTH_MODE=jwt needs GATEHOUSE_PUBLIC_URL/);
  });

  it("a Host of evil.example never reaches the OpenCode config, OAuth metadata, WWW-Authenticate or the sign-in links", async () => {
    const host = EVIL;
    const wellKnown = await rawRequest(h.gateway.url, "GET", "/.well-known/opencode", { host });
    expect(wellKnown.status).toBe(200);
    expect(wellKnown.text).toContain(`${PUBLIC}/openai/v1`);
    expect(wellKnown.text).not.toContain(EVIL);

    const metadata = await rawRequest(h.gateway.url, "GET", "/.well-known/oauth-protected-resource", { host });
    expect(metadata.status).toBe(200);
    expect(JSON.parse(metadata.text)).toMatchObject({ resource: `${PUBLIC}/mcp`, authorization_servers: [PUBLIC] });

    const mcp = await rawRequest(h.gateway.url, "POST", "/mcp", { host, "content-type": "application/json", accept: "application/json, text/event-stream" }, JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }));
    expect(mcp.status).toBe(401);
    expect(mcp.headers["www-authenticate"]).toBe(`Bearer resource_metadata="${PUBLIC}/.well-known/oauth-protected-resource"`);

    const device = await rawRequest(h.gateway.url, "POST", "/auth/device", { host }, "");
    expect(device.status).toBe(200);
    const started = JSON.parse(device.text) as { user_code: string; verification_uri: string; verification_uri_complete: string };
    expect(started.verification_uri).toBe(`${PUBLIC}/auth/device/verify`);
    expect(started.verification_uri_complete.startsWith(`${PUBLIC}/`)).toBe(true);

    // The OIDC redirect URI sent to the IdP is the public one, whatever Host the browser named.
    const page = await rawRequest(h.gateway.url, "GET", `/auth/device/verify?user_code=${started.user_code}`, { host });
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? "";
    const cookie = String(page.headers["set-cookie"] ?? "").split(";")[0] ?? "";
    expect(String(page.headers["set-cookie"])).toMatch(/Secure/);
    const form = new URLSearchParams({ user_code: started.user_code, action: "approve", csrf }).toString();
    const go = await rawRequest(h.gateway.url, "POST", "/auth/device/verify", { host, cookie, "content-type": "application/x-www-form-urlencoded" }, form);
    expect(go.status).toBe(303);
    const location = new URL(String(go.headers["location"]));
    expect(location.origin).toBe(idp.url);
    expect(location.searchParams.get("redirect_uri")).toBe(`${PUBLIC}/auth/callback`);
  });

  it("a cross-origin form post is refused; the public origin's own page passes", async () => {
    const device = JSON.parse((await rawRequest(h.gateway.url, "POST", "/auth/device", {}, "")).text) as { user_code: string };
    const page = await rawRequest(h.gateway.url, "GET", `/auth/device/verify?user_code=${device.user_code}`, {});
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? "";
    const cookie = String(page.headers["set-cookie"] ?? "").split(";")[0] ?? "";
    const form = new URLSearchParams({ user_code: device.user_code, action: "approve", csrf }).toString();
    const headers = { cookie, "content-type": "application/x-www-form-urlencoded" };
    // In oidc mode the request's own origin (from Host) is not trusted: only the public URL's.
    for (const origin of [`http://${EVIL}`, h.gateway.url, "null"]) {
      expect((await rawRequest(h.gateway.url, "POST", "/auth/device/verify", { ...headers, origin }, form)).status, origin).toBe(403);
    }
    expect((await rawRequest(h.gateway.url, "POST", "/dashboard/login", { "content-type": "application/x-www-form-urlencoded", origin: `http://${EVIL}` }, "token=x")).status).toBe(403);
    expect((await rawRequest(h.gateway.url, "POST", "/auth/device/verify", { ...headers, origin: PUBLIC }, form)).status).toBe(303);
  });

  it("a dev gateway with a public URL also answers for that name, and nothing else", async () => {
    const port = await freeLoopbackPort();
    const dev = await startHarness({}, { GATEHOUSE_PUBLIC_URL: "http://gatehouse.test:8080", GATEHOUSE_PORT: String(port) });
    try {
      expect((await rawRequest(dev.gateway.url, "GET", "/.well-known/opencode", { host: "gatehouse.test:8080" })).status).toBe(200);
      expect((await rawRequest(dev.gateway.url, "GET", "/.well-known/opencode", { host: EVIL })).status).toBe(403);
    } finally {
      await dev.close();
    }
  });
});
