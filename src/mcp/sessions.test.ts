import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Clock } from "../core/clock.ts";
import { caller, startPortal, TokenTableAuthenticator, type RunningPortal } from "../../test/mcp/harness.ts";

/** Idle expiry with a controllable clock: an expired session gets 404 and the SDK client can start over. */
let now = 1_000_000;
const clock: Clock = { now: () => now, monotonic: () => performance.now() };
const TOKEN = "session-token-0123456789";
let portal: RunningPortal;

beforeAll(async () => {
  portal = await startPortal({ servers: {}, clock, sessionIdleMs: 60_000, authenticator: new TokenTableAuthenticator({ [TOKEN]: caller("s", ["eng"]) }) });
});

afterAll(async () => {
  await portal?.close();
});

describe("portal sessions", () => {
  it("expire when idle: the old id gets 404, a new initialize works", async () => {
    const client = new Client({ name: "idle", version: "1.0.0" });
    const transport = new StreamableHTTPClientTransport(new URL(portal.url), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } });
    await client.connect(transport);
    expect(portal.runtime.sessions.size).toBe(1);
    now += 30_000;
    await client.listTools(); // activity keeps it alive
    now += 59_000;
    await client.listTools();
    now += 61_000;
    const res = await fetch(portal.url, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "mcp-session-id": transport.sessionId!, "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list", params: {} }),
    });
    expect(res.status).toBe(404);
    expect(portal.runtime.sessions.size).toBe(0);
    const fresh = new Client({ name: "idle-2", version: "1.0.0" });
    await fresh.connect(new StreamableHTTPClientTransport(new URL(portal.url), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }));
    expect((await fresh.listTools()).tools.map((t) => t.name)).toEqual(["portal_list_servers"]);
    await fresh.close();
  });

  it("rejects requests without a session and unknown codemode values", async () => {
    const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", accept: "application/json, text/event-stream" };
    const noSession = await fetch(portal.url, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }) });
    expect(noSession.status).toBe(400);
    const badJson = await fetch(portal.url, { method: "POST", headers, body: "{not json" });
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { error: { code: number } }).error.code).toBe(-32700);
    const get = await fetch(portal.url, { headers });
    expect(get.status).toBe(405);
    const badMode = await fetch(`${portal.url}?codemode=everything`, { method: "POST", headers, body: "{}" });
    expect(badMode.status).toBe(400);
  });
});
