import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/index.ts";
import { startHarness, type Harness } from "../gateway/harness.ts";
import { startLocalWorker, type LocalWorker } from "./workerd.ts";

/**
 * The modules Workers mounts beside the proxy, through the one composition (src/gateway):
 * metrics and the dashboard, and the same route list as Node but for what docs/deploy.md says
 * a Worker cannot offer. The worker runs in workerd (Miniflare, local D1/KV/Durable Object);
 * the fake provider runs in this process on 127.0.0.1.
 */
const TOKEN = "gh_workerd_modules_token_0123456789";
const OPENAI_KEY = "sk-openai-workerd-modules-003";
const chartUmd = readFileSync(new URL("../../node_modules/chart.js/dist/chart.umd.js", import.meta.url), "utf8");

/** What a Worker leaves out, and why: docs/deploy.md#what-runs-on-workers. */
const NODE_ONLY = ["/.well-known/oauth-protected-resource", "/auth", "/mcp"];

let fake: FakeUpstream;
let worker: LocalWorker;
let node: Harness;

beforeAll(async () => {
  fake = await startFakeUpstream({ keys: { openai: OPENAI_KEY } });
  const orgConfig = {
    providers: { openai: { upstream: `${fake.url}/v1` } },
  };
  worker = await startLocalWorker({
    GATEHOUSE_AUTH_MODE: "dev",
    GATEHOUSE_ALLOW_DEV_AUTH: "true",
    GATEHOUSE_DEV_TOKEN: TOKEN,
    GATEHOUSE_LOG_LEVEL: "error",
    // An identity header (as behind a proxy that asserts the caller) must never reach a provider.
    GATEHOUSE_JWT_HEADER: "x-idp-assertion",
    OPENAI_API_KEY: OPENAI_KEY,
    GATEHOUSE_ORG_CONFIG: JSON.stringify(orgConfig),
  });
  node = await startHarness();
}, 180_000);

afterAll(async () => {
  await worker?.close();
  await node?.close();
  await fake?.close();
});

/** The entry points a gateway lists in its 404 (read from what its modules mounted). */
async function mountedRoutes(base: string): Promise<string[]> {
  const res = await fetch(`${base}/no-such-route`);
  expect(res.status).toBe(404);
  const body = (await res.json()) as { error: { message: string } };
  const listed = /Routes: (.*); GET \/ describes them\./.exec(body.error.message)?.[1];
  if (!listed) throw new Error(`no route list in: ${body.error.message}`);
  return listed.split(", ").sort();
}

async function chat(): Promise<Response> {
  fake.enqueue({ usage: { input: 12, output: 3 } });
  return fetch(`${worker.url}/openai/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "x-idp-assertion": "eyJ.identity-assertion.sig" },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
  });
}

describe("Workers mounts the gateway's modules (workerd)", { timeout: 120_000 }, () => {
  it("lists the same entry points as Node, except /auth (no signing key) and the MCP portal (docs/deploy.md)", async () => {
    const [onWorkers, onNode] = await Promise.all([mountedRoutes(worker.url), mountedRoutes(node.gateway.url)]);
    expect(onWorkers).toEqual(expect.arrayContaining(["/dashboard", "/metrics", "/.well-known/opencode", "/openai", "/anthropic"]));
    expect(onNode.filter((route) => !onWorkers.includes(route))).toEqual(NODE_ONLY);
    expect(onWorkers.filter((route) => !onNode.includes(route))).toEqual([]);
    // Not mounted, so a login attempt is a 404 with the route list, not a half-working flow.
    const login = await fetch(`${worker.url}/auth/device`, { method: "POST" });
    expect(login.status).toBe(404);
    await login.text();
  });

  it("serves /metrics to an admin: the isolate's requests, the ledger's queue and the store", async () => {
    const res = await chat();
    expect(res.status).toBe(200);
    await res.text();
    // The configured identity header is stripped on Workers as on Node (the composition passes it to the proxy).
    expect(fake.requests.at(-1)?.headers["x-idp-assertion"]).toBeUndefined();
    expect(fake.requests.at(-1)?.headers["authorization"]).toBe(`Bearer ${OPENAI_KEY}`);
    // A refusal nobody can be charged for (no token) has no ledger row, and is still counted.
    const refused = await fetch(`${worker.url}/openai/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(refused.status).toBe(401);
    await refused.text();
    const anonymous = await fetch(`${worker.url}/metrics`);
    expect(anonymous.status).toBe(401);
    await anonymous.text();
    const scrape = await fetch(`${worker.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(scrape.status).toBe(200);
    const text = await scrape.text();
    expect(text).toMatch(/gatehouse_requests_total\{[^}]*provider="openai"[^}]*outcome="completed"[^}]*\} [1-9]/);
    expect(text).toMatch(/gatehouse_denials_total\{provider="openai",reason="unauthenticated"\} [1-9]/);
    expect(text).toContain("gatehouse_store_up 1");
    expect(text).toContain("gatehouse_ledger_dropped_rows_total 0");
    expect(text).toContain("gatehouse_caller_concurrency_limit ");
    // Node's connection-pool gauges belong to node:http; a Worker has none to report.
    expect(text).not.toContain("gatehouse_upstream_pool_sockets");
  });

  it("serves the dashboard from D1, with chart.js bundled as a text module", async () => {
    const res = await chat();
    await res.text();
    const db = await worker.mf.getD1Database("DB");
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      const row = await db.prepare("select count(*) as n from ledger where model = ?").bind("gpt-4o-mini").first<{ n: number }>();
      if ((row?.n ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const page = await fetch(`${worker.url}/dashboard`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("gpt-4o-mini");
    expect(html).toContain("/dashboard/assets/chart.umd.js");
    const chart = await fetch(`${worker.url}/dashboard/assets/chart.umd.js`);
    expect(chart.status).toBe(200);
    expect(chart.headers.get("content-type")).toContain("text/javascript");
    expect(await chart.text()).toBe(chartUmd);
    const denied = await fetch(`${worker.url}/dashboard`, { headers: { authorization: "Bearer not-the-token" }, redirect: "manual" });
    expect(denied.status).toBe(303);
    expect(denied.headers.get("location")).toBe("/dashboard/login");
    await denied.text();
  });
});
