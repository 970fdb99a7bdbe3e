import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../src/core/logger.ts";
import { CLIENT_TOKEN, KEYS, startHarness, type Harness } from "./harness.ts";

/** Resolves with the next log line whose message matches: the gateway's own word that something happened. */
const logged: Array<{ pattern: RegExp; resolve: (message: string) => void }> = [];
const nextLog = (pattern: RegExp): Promise<string> => new Promise((resolve) => logged.push({ pattern, resolve }));
const hear = (_fields: Record<string, unknown>, message: string): void => {
  for (const waiter of logged.filter((w) => w.pattern.test(message))) {
    logged.splice(logged.indexOf(waiter), 1);
    waiter.resolve(message);
  }
};
const listeningLogger: Logger = { debug: hear, info: hear, warn: hear, error: hear };

// `startGateway` is what `gatehouse serve` runs: these check every capability is mounted there.
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ logger: listeningLogger });
});
afterAll(async () => {
  await h.close();
});

describe("the served gateway mounts every capability", () => {
  it("serves /.well-known/opencode without auth, pointing providers back at itself, with no key in it", async () => {
    const res = await fetch(`${h.gateway.url}/.well-known/opencode`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const doc = JSON.parse(text) as { auth: { command: string[]; env: string }; config: { provider: Record<string, { options: { baseURL: string; apiKey: string } }> } };
    expect(Array.isArray(doc.auth.command)).toBe(true);
    expect(doc.config.provider["anthropic"]?.options.baseURL).toBe(`${h.gateway.url}/anthropic/v1`);
    expect(doc.config.provider["anthropic"]?.options.apiKey).toBe("");
    for (const key of Object.values(KEYS)) expect(text).not.toContain(key);
  });

  it("serves the MCP portal behind the same identity", async () => {
    const anonymous = await fetch(`${h.gateway.url}/mcp`, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: "{}" });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer .*resource_metadata="[^"]+\/\.well-known\/oauth-protected-resource/);

    const client = new Client({ name: "wiring-test", version: "1.0.0" });
    const transport = new StreamableHTTPClientTransport(new URL(`${h.gateway.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } } });
    await client.connect(transport);
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toContain("portal_list_servers");
    await client.close();
  });

  it("serves /metrics and the dashboard login page", async () => {
    const metrics = await fetch(`${h.gateway.url}/metrics`);
    expect(metrics.status).toBe(401);
    const asDev = await fetch(`${h.gateway.url}/metrics`, { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } });
    // The dev token's caller is in the admin group, so it reads metrics.
    expect(asDev.status).toBe(200);
    expect(await asDev.text()).toContain("# TYPE gatehouse_requests_total counter");
    const dashboard = await fetch(`${h.gateway.url}/dashboard/login`);
    expect(dashboard.status).toBe(200);
    expect(await dashboard.text()).toContain("<form");
  });
});

describe("config hot reload (what `gatehouse serve` watches)", () => {
  it("applies an edit to gatehouse.yaml without a restart, and keeps the last good config on a broken edit", async () => {
    const file = join(h.dir, "gatehouse.yaml");
    const original = readFileSync(file, "utf8");
    const price = () => h.gateway.deps.config.current().pricing["compat/local-llama"]?.input;
    expect(price()).toBe(0.5);
    // Each step waits for the watcher's own log line (real inotify, real debounce), not for time.
    let reloaded = nextLog(/^config (reloaded|change rejected|reload failed)/);
    writeFileSync(file, original.replace("input: 0.5", "input: 0.75"));
    expect(await reloaded).toBe("config reloaded");
    expect(price()).toBe(0.75);

    const rejected = nextLog(/^config (reloaded|change rejected|reload failed)/);
    writeFileSync(file, `${original}\nproviders: [not, a, map\n`);
    expect(await rejected).toMatch(/still serving the previous config/);
    expect(price()).toBe(0.75);
    reloaded = nextLog(/^config (reloaded|change rejected|reload failed)/);
    writeFileSync(file, original);
    expect(await reloaded).toBe("config reloaded");
    expect(price()).toBe(0.5);
  });
});

describe("the anonymous-id header is configurable", () => {
  it("sends the caller's anonymous id in GATEHOUSE_USER_ID_HEADER and never the email", async () => {
    const own = await startHarness({}, { GATEHOUSE_USER_ID_HEADER: "x-org-user-id" });
    try {
      const res = await fetch(`${own.gateway.url}/openai/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}` },
        body: JSON.stringify({ model: "gpt-5", messages: [{ role: "user", content: "hi" }] }),
      });
      await res.arrayBuffer();
      const seen = own.fake.requests[0];
      expect(seen?.headers["x-org-user-id"]).toMatch(/^[0-9a-f-]{36}$/);
      expect(seen?.headers["x-gatehouse-user-id"]).toBeUndefined();
      expect(JSON.stringify(seen)).not.toContain("dev@localhost");
    } finally {
      await own.close();
    }
  });
});
