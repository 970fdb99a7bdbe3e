import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_TOKEN, startHarness, type Harness } from "../gateway/harness.ts";
import { startLocalWorker, type LocalWorker } from "../scale/workerd.ts";
import { rawRequest } from "./raw-http.ts";

/**
 * Every document that names the gateway, asked for with forwarded headers an attacker (or a
 * cache in front) chose, over real HTTP: the Node gateway and the Worker in workerd. They all
 * take their base URL from core/public-url.ts, so the answers name GATEHOUSE_PUBLIC_URL when it
 * is set, the loopback origin the request reached otherwise, and never the forwarded values.
 */
const EVIL = "evil.example";
const PUBLIC = "https://gate.example.com";
const FORWARDED = { "x-forwarded-host": EVIL, "x-forwarded-proto": "https", forwarded: `host=${EVIL};proto=https`, "x-forwarded-port": "443", "x-original-host": EVIL };

interface Target {
  name: string;
  /** The base URL the documents must name (the public URL, or the loopback origin). */
  expected: () => string;
  url: () => string;
  /** Node mounts the MCP portal, identity login and the dashboard; Workers mounts proxy and discovery only. */
  full: boolean;
}

let nodeDev: Harness;
let nodePublic: Harness;
let workerDev: LocalWorker;
let workerPublic: LocalWorker;

const workerVars = { GATEHOUSE_AUTH_MODE: "dev", GATEHOUSE_ALLOW_DEV_AUTH: "true", GATEHOUSE_DEV_TOKEN: CLIENT_TOKEN, GATEHOUSE_LOG_LEVEL: "error", GATEHOUSE_ORG_CONFIG: JSON.stringify({ providers: { openai: {} } }) };

beforeAll(async () => {
  [nodeDev, nodePublic, workerDev, workerPublic] = await Promise.all([startHarness(), startHarness({}, { GATEHOUSE_PUBLIC_URL: PUBLIC }), startLocalWorker(workerVars), startLocalWorker({ ...workerVars, GATEHOUSE_PUBLIC_URL: PUBLIC })]);
}, 180_000);

afterAll(async () => {
  await Promise.all([nodeDev?.close(), nodePublic?.close(), workerDev?.close(), workerPublic?.close()]);
});

const targets: Target[] = [
  { name: "Node, dev mode without a public URL", expected: () => nodeDev.gateway.url, url: () => nodeDev.gateway.url, full: true },
  { name: "Node, GATEHOUSE_PUBLIC_URL set", expected: () => PUBLIC, url: () => nodePublic.gateway.url, full: true },
  { name: "Workers, dev mode without a public URL", expected: () => workerDev.url, url: () => workerDev.url, full: false },
  { name: "Workers, GATEHOUSE_PUBLIC_URL set", expected: () => PUBLIC, url: () => workerPublic.url, full: false },
];

/** The loopback Host the request really reached (dev mode refuses any other before a route runs). */
function hostOf(url: string): string {
  return new URL(url).host;
}

function expectNamesOnly(text: string, expected: string): void {
  expect(text).toContain(expected);
  expect(text).not.toContain(EVIL);
  // A forwarded proto must not turn the loopback origin into an https one.
  if (expected.startsWith("http:")) expect(text).not.toContain(expected.replace("http:", "https:"));
}

// workerd and whole gateways: generous per-test time on a loaded 2-core machine.
describe.each(targets)("the base URL on $name, with forwarded headers", { timeout: 60_000 }, (target) => {
  const get = (path: string, headers: Record<string, string> = {}) => rawRequest(target.url(), "GET", path, { host: hostOf(target.url()), ...FORWARDED, ...headers });

  it("the OpenCode discovery document", async () => {
    const res = await get("/.well-known/opencode");
    expect(res.status).toBe(200);
    expectNamesOnly(res.text, target.expected());
    expect(JSON.parse(res.text).config.provider.openai.options.baseURL).toBe(`${target.expected()}/openai/v1`);
  });

  it("the landing page and a not-found hint", async () => {
    const landing = await get("/");
    expect(landing.status).toBe(200);
    expectNamesOnly(landing.text, target.expected());
    const notFound = await get("/v1/chat/completions");
    expect(notFound.status).toBe(404);
    expectNamesOnly(notFound.text, target.expected());
  });

  it("the MCP protected-resource metadata and the 401 challenge", async () => {
    if (!target.full) return;
    const metadata = await get("/.well-known/oauth-protected-resource");
    expect(metadata.status).toBe(200);
    expect(JSON.parse(metadata.text).resource).toBe(`${target.expected()}/mcp`);
    expectNamesOnly(metadata.text, target.expected());
    const challenge = await rawRequest(target.url(), "POST", "/mcp", { host: hostOf(target.url()), ...FORWARDED, "content-type": "application/json", accept: "application/json, text/event-stream" }, "{}");
    expect(challenge.status).toBe(401);
    expect(String(challenge.headers["www-authenticate"])).toContain(`resource_metadata="${target.expected()}/.well-known/oauth-protected-resource"`);
  });

  it("the device login's verification URL, and the Secure flag of the cookies it and the dashboard set", async () => {
    if (!target.full) return;
    const device = await rawRequest(target.url(), "POST", "/auth/device", { host: hostOf(target.url()), ...FORWARDED }, "");
    expect(device.status).toBe(200);
    const started = JSON.parse(device.text) as { verification_uri: string; user_code: string };
    expect(started.verification_uri).toBe(`${target.expected()}/auth/device/verify`);
    const secure = target.expected().startsWith("https:");
    const verify = await get(`/auth/device/verify?user_code=${encodeURIComponent(started.user_code)}`);
    expect(verify.status).toBe(200);
    expect(/;\s*Secure/i.test(String(verify.headers["set-cookie"])), "CSRF cookie Secure flag").toBe(secure);
    const login = await rawRequest(target.url(), "POST", "/dashboard/login", { host: hostOf(target.url()), ...FORWARDED, "content-type": "application/x-www-form-urlencoded" }, `token=${encodeURIComponent(CLIENT_TOKEN)}`);
    expect(login.status).toBe(303);
    expect(/;\s*Secure/i.test(String(login.headers["set-cookie"])), "dashboard cookie Secure flag").toBe(secure);
  });
});
