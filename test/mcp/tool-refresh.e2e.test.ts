import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ListToolsRequestSchema, type Tool } from "@modelcontextprotocol/sdk/types.js";
import { listAuditEntries, mcpServersSchema } from "../../src/mcp/index.ts";
import { hostStreamableHttp, type HostedUpstream } from "./fixtures/upstream-host.ts";
import { caller, startPortal, TokenTableAuthenticator, type RunningPortal } from "./harness.ts";
import { portalClient, textOf } from "./real/clients.ts";

/**
 * The portal refuses a tool its upstream does not list (`not_found`) from the cached list;
 * a tool the upstream added without telling (no list_changed) is found by re-listing once
 * the cached list is a few seconds old, so the check does not hide new tools for long.
 */
const TOKEN = "refresh-token-0123456789";
const tools: Tool[] = [{ name: "old", inputSchema: { type: "object", properties: {} } }];
let listed = 0;
let upstream: HostedUpstream;
let portal: RunningPortal;

function quietServer(): Server {
  const server = new Server({ name: "quiet", version: "1.0.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => {
    listed += 1;
    return { tools };
  });
  server.setRequestHandler(CallToolRequestSchema, async (request) => ({ content: [{ type: "text", text: `ran ${request.params.name}` }] }));
  return server;
}

beforeAll(async () => {
  upstream = await hostStreamableHttp(quietServer);
  portal = await startPortal({ servers: mcpServersSchema.parse({ quiet: { type: "http", url: upstream.url } }), authenticator: new TokenTableAuthenticator({ [TOKEN]: caller("refresh", ["eng"]) }) });
});

afterAll(async () => {
  await portal?.close();
  await upstream?.close();
});

describe("unknown tools and the cached tool list", () => {
  it("answers not_found from the cache, re-lists at most every 5 s, and finds a tool added silently", async () => {
    const client = await portalClient(portal.url, TOKEN);
    expect(textOf(await client.callTool({ name: "quiet_old", arguments: {} }))).toBe("ran old");
    const before = listed;
    for (let i = 0; i < 5; i += 1) await expect(client.callTool({ name: "quiet_new", arguments: {} })).rejects.toThrow(/Unknown tool: quiet_new/);
    expect(listed - before).toBeLessThanOrEqual(1);
    tools.push({ name: "new", inputSchema: { type: "object", properties: {} } });
    await expect.poll(async () => client.callTool({ name: "quiet_new", arguments: {} }).then(textOf, (err: Error) => err.message), { timeout: 15_000, interval: 1_000 }).toBe("ran new");
    await client.close();
    await portal.runtime.audit.flush();
    const outcomes = (await listAuditEntries(portal.deps.db, { tool: "new" })).map((r) => r.outcome);
    expect(outcomes).toContain("ok");
    expect(outcomes.filter((o) => o !== "ok").every((o) => o === "not_found")).toBe(true);
  });
});
