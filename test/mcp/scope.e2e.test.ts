import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult, ResourceLink } from "@modelcontextprotocol/sdk/types.js";
import { spawnStdioServer } from "../../src/adapters/node/mcp/index.ts";
import { listAuditEntries, mcpServersSchema, type StdioTransportFactory } from "../../src/mcp/index.ts";
import { caller, startPortal, TokenTableAuthenticator, type RunningPortal } from "./harness.ts";
import { portalClient, textOf } from "./real/clients.ts";
import { EverythingHttp, realServersAvailable, requireEntry } from "./real/servers.ts";

/**
 * Upstream session scope with the real npm servers: server-everything (session resources,
 * over Streamable HTTP and stdio) and server-memory (a knowledge graph a process keeps).
 */
const ALICE = "alice-token-0123456789";
const ERIN = "erin-token-0123456789a";
const BOB = "bob-token-0123456789ab";
const CAROL = "carol-token-0123456789";

let everything: EverythingHttp;
let portal: RunningPortal;
let memoryDir: string;
const stdioPids: { serverId: string; transport: StdioClientTransport }[] = [];
const tracked: StdioTransportFactory = (serverId, config, env) => {
  const transport = spawnStdioServer(serverId, config, env);
  if (transport instanceof StdioClientTransport) stdioPids.push({ serverId, transport });
  return transport;
};

beforeAll(async () => {
  if (!realServersAvailable) return;
  everything = await EverythingHttp.start();
  memoryDir = mkdtempSync(join(tmpdir(), "gatehouse-memory-"));
  const node = process.execPath;
  portal = await startPortal({
    servers: mcpServersSchema.parse({
      // No `scope`: server-everything declares resources, so the portal makes it per-user.
      everything: { type: "http", url: everything.url, audit: { arguments: true } },
      memory: { type: "stdio", command: node, args: [requireEntry("server-memory")], userEnv: { MEMORY_FILE_PATH: join(memoryDir, "{user}.jsonl") } },
      shared: { type: "stdio", scope: "shared", command: node, args: [requireEntry("server-everything"), "stdio"] },
      capped: { type: "stdio", command: node, args: [requireEntry("server-everything"), "stdio"], perUser: { max: 2, idleMs: 600_000 } },
    }),
    stdio: tracked,
    authenticator: new TokenTableAuthenticator({ [ALICE]: caller("alice", ["eng"]), [ERIN]: caller("erin", ["eng"]), [BOB]: caller("bob", ["eng"]), [CAROL]: caller("carol", ["eng"]) }),
  });
}, 60_000);

afterAll(async () => {
  await portal?.close();
  await everything?.stop();
  if (memoryDir) rmSync(memoryDir, { recursive: true, force: true });
});

describe.skipIf(!realServersAvailable)("upstream session scope (real npm servers)", () => {
  it("keeps a session resource Alice created out of Erin's list and reads (server-everything over HTTP, default scope)", async () => {
    const alice = await portalClient(portal.url, ALICE);
    const erin = await portalClient(portal.url, ERIN);
    const made = (await alice.callTool({ name: "everything_gzip-file-as-resource", arguments: { name: "alice-notes.gz", data: "data:text/plain,the%20secret%20of%20alice", outputType: "resourceLink" } })) as CallToolResult;
    const link = made.content.find((block): block is ResourceLink => block.type === "resource_link");
    expect(link?.uri).toBe("gatehouse-mcp://everything/demo://resource/session/alice-notes.gz");
    // Alice reads her link back through the portal (item 12) and sees it listed.
    const read = await alice.readResource({ uri: link!.uri });
    expect(read.contents[0]).toMatchObject({ uri: link!.uri, mimeType: "application/gzip" });
    expect((await alice.listResources()).resources.map((r) => r.uri)).toContain(link!.uri);
    // Erin sees nothing of it and cannot read it.
    expect((await erin.listResources()).resources.map((r) => r.uri)).not.toContain(link!.uri);
    await expect(erin.readResource({ uri: link!.uri })).rejects.toThrow();
    expect(portal.runtime.pool().scope("everything")).toBe("per-user");
    await alice.close();
    await erin.close();
    await portal.runtime.audit.flush();
    const reads = await listAuditEntries(portal.deps.db, { tool: "resources/read" });
    expect(reads.map((r) => `${r.callerId}:${r.outcome}`).sort()).toEqual(["alice:ok", "erin:not_found"]);
    expect(reads.find((r) => r.callerId === "alice")?.argumentsJson).toBe(JSON.stringify({ uri: "demo://resource/session/alice-notes.gz" }));
  });

  it("gives each user their own stdio process and memory file (server-memory)", async () => {
    const alice = await portalClient(portal.url, ALICE);
    await alice.callTool({ name: "memory_create_entities", arguments: { entities: [{ name: "AliceSecret", entityType: "note", observations: ["salary is 123"] }] } });
    expect(textOf(await alice.callTool({ name: "memory_read_graph", arguments: {} }))).toContain("AliceSecret");
    const erin = await portalClient(portal.url, ERIN);
    const erinsGraph = textOf(await erin.callTool({ name: "memory_read_graph", arguments: {} }));
    expect(erinsGraph).not.toContain("AliceSecret");
    expect(new Set(stdioPids.filter((p) => p.serverId === "memory").map((p) => p.transport.pid)).size).toBe(2);
    // Alice's next session finds her notes again: the process (and file) is hers, not the session's.
    await alice.close();
    const again = await portalClient(portal.url, ALICE);
    expect(textOf(await again.callTool({ name: "memory_read_graph", arguments: {} }))).toContain("AliceSecret");
    await again.close();
    await erin.close();
  });

  it("refuses a 30 MB argument before it reaches a shared stdio server; another user's in-flight call finishes", async () => {
    const bob = await portalClient(portal.url, BOB);
    const progress: number[] = [];
    const inFlight = bob.callTool({ name: "shared_trigger-long-running-operation", arguments: { duration: 2, steps: 4 } }, undefined, { onprogress: (p) => progress.push(p.progress), timeout: 60_000 });
    await expect.poll(() => progress.length, { timeout: 30_000 }).toBeGreaterThan(0);
    const pidBefore = stdioPids.filter((p) => p.serverId === "shared").map((p) => p.transport.pid);
    const huge = "x".repeat(30 * 1024 * 1024);
    await expect(portal.runtime.catalog.callTool(caller("alice", ["eng"]), "shared_echo", { message: huge }, { sessionId: undefined, via: "codemode" })).rejects.toThrow(/maxArgumentBytes/);
    expect(textOf(await inFlight)).toContain("Long running operation");
    expect(textOf(await bob.callTool({ name: "shared_echo", arguments: { message: "still here" } }))).toContain("still here");
    expect(stdioPids.filter((p) => p.serverId === "shared").map((p) => p.transport.pid)).toEqual(pidBefore);
    await bob.close();
    await portal.runtime.audit.flush();
    const [row] = await listAuditEntries(portal.deps.db, { serverId: "shared", tool: "echo", outcome: "too_large" });
    expect(row?.error).toMatch(/over 1048576/);
  });

  it("caps per-user processes: at the cap the least recently used idle one is closed", async () => {
    for (const token of [ALICE, ERIN, CAROL]) {
      const client = await portalClient(portal.url, token);
      expect(textOf(await client.callTool({ name: "capped_echo", arguments: { message: token.slice(0, 4) } }))).toContain(token.slice(0, 4));
      await client.close();
      expect(portal.runtime.pool().perUserCount("capped")).toBeLessThanOrEqual(2);
    }
    const capped = stdioPids.filter((p) => p.serverId === "capped");
    expect(capped).toHaveLength(3);
    // Alice's process (the least recently used) was closed for Carol's.
    await expect.poll(() => capped[0]!.transport.pid ?? null, { timeout: 10_000 }).toBeNull();
  });
});
