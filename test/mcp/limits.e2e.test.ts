import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { listAuditEntries, mcpServersSchema } from "../../src/mcp/index.ts";
import { MAX_AUDIT_JSON_BYTES } from "../../src/mcp/audit.ts";
import { hostStreamableHttp, type HostedUpstream } from "./fixtures/upstream-host.ts";
import { ticketsServer } from "./fixtures/tickets-server.ts";
import { caller, startPortal, TokenTableAuthenticator, type RunningPortal } from "./harness.ts";
import { portalClient } from "./real/clients.ts";

/** Limits on what one caller can make the portal hold: body size (chunked too), sessions, audit rows. */
const TOKEN = "limits-token-0123456789";
const OTHER = "other-token-01234567890";
let tickets: HostedUpstream;
let portal: RunningPortal;

beforeAll(async () => {
  tickets = await hostStreamableHttp(() => ticketsServer("tickets"));
  portal = await startPortal({
    servers: mcpServersSchema.parse({ tickets: { type: "http", url: tickets.url, audit: { arguments: true, results: true } } }),
    maxSessionsPerCaller: 4,
    authenticator: new TokenTableAuthenticator({ [TOKEN]: caller("limits", ["eng"]), [OTHER]: caller("other", ["eng"]) }),
  });
}, 60_000);

afterAll(async () => {
  await portal?.close();
  await tickets?.close();
});

/** POST a chunked body (no Content-Length) of `total` bytes; resolves with the status, however early the portal answers. */
function chunkedPost(url: string, total: number, prefix: string, extraHeaders: Record<string, string> = {}): Promise<{ status: number; sent: number }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    let sent = 0;
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", accept: "application/json, text/event-stream", "transfer-encoding": "chunked", ...extraHeaders },
      },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, sent });
        req.destroy();
      },
    );
    req.on("error", (err) => (sent >= total ? reject(err) : undefined));
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    req.write(prefix);
    sent += prefix.length;
    const pump = (): void => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once("drain", pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

describe("MCP portal limits", () => {
  it("refuses a chunked 64 MB initialize at the 4 MB cap without reading it all", async () => {
    const initialize = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "big", version: "1" }, padding: "" } });
    const { status, sent } = await chunkedPost(portal.url, 64 * 1024 * 1024, initialize.slice(0, -3));
    expect(status).toBe(413);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    expect(portal.runtime.sessions.size).toBe(0);
  });

  it("refuses a chunked 64 MB message on an open session too", async () => {
    const client = await portalClient(portal.url, TOKEN);
    const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId!;
    const call = JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "tickets_echo", arguments: { text: "" } } });
    const { status, sent } = await chunkedPost(portal.url, 64 * 1024 * 1024, call.slice(0, -4), { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" });
    expect(status).toBe(413);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    await client.close();
  });

  it("caps open sessions per caller: the least recently used is closed, other callers keep theirs", async () => {
    const other = await portalClient(portal.url, OTHER);
    const clients: Client[] = [];
    for (let i = 0; i < 10; i += 1) clients.push(await portalClient(portal.url, TOKEN));
    expect(portal.runtime.sessions.countFor("limits")).toBe(4);
    // The newest work; the oldest was closed (404: the SDK client would re-initialise).
    await expect(clients[9]!.listTools()).resolves.toBeDefined();
    const oldest = (clients[0]!.transport as StreamableHTTPClientTransport).sessionId!;
    const res = await fetch(portal.url, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "mcp-session-id": oldest, "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list", params: {} }),
    });
    expect(res.status).toBe(404);
    await expect(other.listTools()).resolves.toBeDefined();
    for (const client of [...clients, other]) await client.close().catch(() => undefined);
  });

  it("stores at most MAX_AUDIT_JSON_BYTES of arguments and results per row", async () => {
    const client = await portalClient(portal.url, TOKEN);
    const big = "y".repeat(600 * 1024);
    await client.callTool({ name: "tickets_echo", arguments: { text: big } });
    await client.close();
    await portal.runtime.audit.flush();
    const [row] = await listAuditEntries(portal.deps.db, { callerId: "limits", tool: "echo" });
    expect(row?.outcome).toBe("ok");
    expect(row!.argumentsJson!.length).toBeLessThanOrEqual(MAX_AUDIT_JSON_BYTES);
    expect(JSON.parse(row!.argumentsJson!)).toEqual({ truncated: true, bytes: big.length + '{"text":""}'.length });
    expect(JSON.parse(row!.resultJson!)).toMatchObject({ truncated: true });
  });
});
