import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { groupAllowListPolicy, listAuditEntries, mcpServersSchema } from "../../src/mcp/index.ts";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { spawnStdioServer } from "../../src/adapters/node/mcp/index.ts";
import type { StdioTransportFactory } from "../../src/mcp/index.ts";
import { hostSse, hostStreamableHttp, type HostedUpstream } from "./fixtures/upstream-host.ts";
import { ticketsServer } from "./fixtures/tickets-server.ts";
import { caller, startPortal, TokenTableAuthenticator, type RunningPortal } from "./harness.ts";

const ALICE = "alice-token-0123456789";
const BOB = "bob-token-0123456789ab";
const ADMIN_SECRET = "upstream-admin-credential-xyz";
const STDIO_SECRET = "stdio-secret-value";

let tickets: HostedUpstream;
let wiki: HostedUpstream;
let portal: RunningPortal;
/** The stdio transports the portal opened: a test can see when the portal noticed a process exit. */
const stdioTransports: StdioClientTransport[] = [];
const trackedStdio: StdioTransportFactory = (serverId, config, env) => {
  const transport = spawnStdioServer(serverId, config, env);
  if (transport instanceof StdioClientTransport) stdioTransports.push(transport);
  return transport;
};

function text(result: unknown): string {
  return ((result as CallToolResult).content[0] as { text: string }).text;
}

async function connect(token: string, query = ""): Promise<Client> {
  const client = new Client({ name: "portal-e2e", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${portal.url}${query}`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

beforeAll(async () => {
  tickets = await hostStreamableHttp(() => ticketsServer("tickets"), { requireBearer: ADMIN_SECRET });
  wiki = await hostSse(() => ticketsServer("wiki"));
  const servers = mcpServersSchema.parse({
    tickets: { type: "http", url: tickets.url, auth: "TICKETS_TOKEN", audit: { arguments: true } },
    wiki: { type: "sse", url: wiki.url, tools: ["echo", "create_ticket"] },
    local: { type: "stdio", command: process.execPath, args: ["--import", "tsx", fileURLToPath(new URL("./fixtures/stdio-server.ts", import.meta.url))], env: ["STDIO_SECRET"] },
  });
  portal = await startPortal({
    servers,
    stdio: trackedStdio,
    authenticator: new TokenTableAuthenticator({ [ALICE]: caller("alice", ["eng"]), [BOB]: caller("bob", ["sales"]) }),
    policy: groupAllowListPolicy({ eng: ["*"], sales: ["wiki"] }),
    secrets: { TICKETS_TOKEN: ADMIN_SECRET, STDIO_SECRET },
  });
}, 60_000);

afterAll(async () => {
  await portal?.close();
  await tickets?.close();
  await wiki?.close();
});

describe("MCP portal: authentication (RFC 9728)", () => {
  it("answers 401 with a resource_metadata challenge and serves the metadata", async () => {
    const res = await fetch(portal.url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: "{}" });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(`Bearer resource_metadata="${portal.origin}/.well-known/oauth-protected-resource"`);
    const metadata = (await (await fetch(`${portal.origin}/.well-known/oauth-protected-resource`)).json()) as Record<string, unknown>;
    expect(metadata["resource"]).toBe(`${portal.origin}/mcp`);
    expect(metadata["authorization_servers"]).toEqual([portal.origin]);
    const wrong = await fetch(portal.url, { method: "POST", headers: { authorization: "Bearer nope", "content-type": "application/json" }, body: "{}" });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("refuses a foreign Origin (DNS rebinding)", async () => {
    const res = await fetch(portal.url, { method: "POST", headers: { authorization: `Bearer ${ALICE}`, origin: "http://evil.example", "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(403);
  });

  it("answers a 2026-07-28 client with the versions it speaks", async () => {
    const res = await fetch(portal.url, {
      method: "POST",
      headers: { authorization: `Bearer ${ALICE}`, "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "server/discover", params: {} }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; data: { supported: string[] } } };
    expect(body.error.data.supported).toContain("2025-11-25");
    expect(body.error.message).toContain("Unsupported protocol version 2026-07-28");
  });
});

describe("MCP portal: aggregation through the SDK client", () => {
  it("lists namespaced tools of http, sse and stdio upstreams and calls them", async () => {
    const client = await connect(ALICE);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["tickets_create_ticket", "tickets_slow_count", "wiki_echo", "wiki_create_ticket", "local_whoami", "portal_list_servers"]));
    expect(names).not.toContain("wiki_fail"); // not in the wiki server's tool allow-list
    const created = (await client.callTool({ name: "tickets_create_ticket", arguments: { title: "printer on fire" } })) as CallToolResult;
    expect(created.structuredContent).toEqual({ id: "T-1", title: "printer on fire" });
    expect(text(await client.callTool({ name: "wiki_echo", arguments: { text: "via sse" } }))).toBe("via sse");
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    expect(prompts).toContain("tickets_triage");
    const prompt = await client.getPrompt({ name: "tickets_triage", arguments: { id: "T-9" } });
    expect(JSON.stringify(prompt.messages)).toContain("Triage ticket T-9.");
    const resources = (await client.listResources()).resources;
    const readme = resources.find((r) => r.name === "tickets_readme");
    expect(readme?.uri).toBe("gatehouse-mcp://tickets/tickets://readme");
    const read = await client.readResource({ uri: readme!.uri });
    expect(read.contents[0]).toMatchObject({ text: "Tickets are triaged daily.", uri: "gatehouse-mcp://tickets/tickets://readme" });
    await client.close();
  });

  it("sends upstreams the admin credential, never the user's token", async () => {
    const all = [...tickets.seenHeaders, ...wiki.seenHeaders].map((h) => JSON.stringify(h));
    expect(all.length).toBeGreaterThan(0);
    for (const headers of all) {
      expect(headers).not.toContain(ALICE);
      expect(headers).not.toContain(BOB);
    }
    expect(tickets.seenHeaders.every((h) => h["authorization"] === `Bearer ${ADMIN_SECRET}`)).toBe(true);
  });

  it("forwards progress notifications from the upstream", async () => {
    const client = await connect(ALICE);
    const seen: number[] = [];
    const result = await client.callTool({ name: "tickets_slow_count", arguments: { n: 3 } }, undefined, { onprogress: (p) => seen.push(p.progress) });
    expect(text(result)).toBe("counted to 3");
    expect(seen).toEqual([1, 2, 3]);
    await client.close();
  });

  it("filters by group and refuses calls to tools the caller cannot see", async () => {
    const client = await connect(BOB);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names.filter((n) => n !== "portal_list_servers").every((n) => n.startsWith("wiki_"))).toBe(true);
    await expect(client.callTool({ name: "tickets_create_ticket", arguments: { title: "sneaky" } })).rejects.toThrow(/Unknown tool: tickets_create_ticket/);
    await expect(client.callTool({ name: "wiki_fail", arguments: {} })).rejects.toThrow(/Unknown tool/);
    const servers = (await client.callTool({ name: "portal_list_servers", arguments: {} })) as CallToolResult;
    expect((servers.structuredContent as { servers: { id: string }[] }).servers.map((s) => s.id)).toEqual(["wiki"]);
    await client.close();
    await portal.runtime.audit.flush();
    const denied = await listAuditEntries(portal.deps.db, { callerId: "bob", outcome: "denied" });
    expect(denied.map((d) => `${d.serverId}/${d.tool}`)).toEqual(expect.arrayContaining(["tickets/create_ticket", "wiki/fail"]));
  });

  it("shares one stdio process, passes only the named secrets, and respawns it after a crash", async () => {
    const a = await connect(ALICE);
    const first = JSON.parse(text(await a.callTool({ name: "local_whoami", arguments: { probe: ["STDIO_SECRET", "TICKETS_TOKEN", "GATEHOUSE_DEV_TOKEN"] } }))) as { pid: number; visible: string[] };
    expect(first.visible).toEqual(["STDIO_SECRET"]);
    const b = await connect(ALICE);
    const second = JSON.parse(text(await b.callTool({ name: "local_whoami", arguments: {} }))) as { pid: number };
    expect(second.pid).toBe(first.pid);
    const crashing = stdioTransports.find((t) => t.pid === first.pid);
    expect(crashing).toBeDefined();
    await a.callTool({ name: "local_crash", arguments: {} });
    // Wait for the portal to see the exit (the SDK clears the pid as it closes the transport), not a guessed 200 ms.
    await expect.poll(() => crashing?.pid ?? null, { timeout: 30_000 }).toBeNull();
    const third = JSON.parse(text(await b.callTool({ name: "local_whoami", arguments: {} }))) as { pid: number };
    expect(third.pid).not.toBe(first.pid);
    await a.close();
    await b.close();
  });

  it("re-initialises transparently when an upstream answers 404 for an expired session", async () => {
    const client = await connect(ALICE);
    expect(text(await client.callTool({ name: "tickets_echo", arguments: { text: "before" } }))).toBe("before");
    const initializes = tickets.initializeCount();
    tickets.expireSessions();
    expect(text(await client.callTool({ name: "tickets_echo", arguments: { text: "after" } }))).toBe("after");
    expect(tickets.initializeCount()).toBe(initializes + 1);
    await client.close();
  });

  it("binds a portal session to its caller and ends it on DELETE", async () => {
    const client = await connect(ALICE);
    const transport = client.transport as StreamableHTTPClientTransport;
    const sessionId = transport.sessionId!;
    const stolen = await fetch(portal.url, {
      method: "POST",
      headers: { authorization: `Bearer ${BOB}`, "mcp-session-id": sessionId, "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 5, method: "tools/list", params: {} }),
    });
    expect(stolen.status).toBe(404);
    await transport.terminateSession();
    const after = await fetch(portal.url, {
      method: "POST",
      headers: { authorization: `Bearer ${ALICE}`, "mcp-session-id": sessionId, "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 6, method: "tools/list", params: {} }),
    });
    expect(after.status).toBe(404);
    await client.close();
  });

  it("audits every tool call: who, which tool, when, duration, outcome; arguments only where configured", async () => {
    const client = await connect(ALICE);
    await client.callTool({ name: "tickets_fail", arguments: {} });
    await client.callTool({ name: "wiki_echo", arguments: { text: "private words" } });
    await client.close();
    await portal.runtime.audit.flush();
    const rows = await listAuditEntries(portal.deps.db, { callerId: "alice" });
    const failed = rows.find((r) => r.tool === "fail");
    expect(failed).toMatchObject({ serverId: "tickets", outcome: "tool_error", via: "direct", team: "eng", argumentsJson: "{}" });
    const echo = rows.find((r) => r.serverId === "wiki" && r.tool === "echo");
    expect(echo).toMatchObject({ outcome: "ok", argumentsJson: null, resultJson: null });
    expect(echo!.durationMs).toBeGreaterThan(0);
    expect(rows.find((r) => r.serverId === "tickets" && r.tool === "create_ticket")?.argumentsJson).toBe('{"title":"printer on fire"}');
    const onlyTickets = await listAuditEntries(portal.deps.db, { serverId: "tickets", limit: 2 });
    expect(onlyTickets).toHaveLength(2);
    expect(onlyTickets[0]!.ts).toBeGreaterThanOrEqual(onlyTickets[1]!.ts);
  });
});
