import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult, EmbeddedResource } from "@modelcontextprotocol/sdk/types.js";
import { spawnStdioServer } from "../../src/adapters/node/mcp/index.ts";
import { groupAllowListPolicy, listAuditEntries, mcpServersSchema } from "../../src/mcp/index.ts";
import { caller, startPortal, TokenTableAuthenticator, type RunningPortal } from "./harness.ts";
import { portalClient, textOf } from "./real/clients.ts";
import { realServersAvailable, requireEntry } from "./real/servers.ts";

/** Audit outcomes and result URIs with the real server-everything and server-filesystem (stdio). */
const TOKEN = "outcome-token-0123456789";
let portal: RunningPortal;
let root: string;

beforeAll(async () => {
  if (!realServersAvailable) return;
  root = mkdtempSync(join(tmpdir(), "gatehouse-fs-"));
  writeFileSync(join(root, "notes.txt"), "allowed content");
  portal = await startPortal({
    servers: mcpServersSchema.parse({
      files: { type: "stdio", command: process.execPath, args: [requireEntry("server-filesystem"), root] },
      everything: { type: "stdio", command: process.execPath, args: [requireEntry("server-everything"), "stdio"] },
      hidden: { type: "stdio", command: process.execPath, args: [requireEntry("server-everything"), "stdio"] },
    }),
    stdio: spawnStdioServer,
    policy: groupAllowListPolicy({ eng: ["everything", "files"] }),
    authenticator: new TokenTableAuthenticator({ [TOKEN]: caller("outcomes", ["eng"]) }),
  });
}, 60_000);

afterAll(async () => {
  await portal?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

async function rows(tool: string) {
  await portal.runtime.audit.flush();
  return listAuditEntries(portal.deps.db, { callerId: "outcomes", tool });
}

describe.skipIf(!realServersAvailable)("audit outcomes and result URIs (real server-everything)", () => {
  it("records a client cancel as cancelled, not timeout", async () => {
    const client = await portalClient(portal.url, TOKEN);
    const abort = new AbortController();
    const call = client.callTool({ name: "everything_trigger-long-running-operation", arguments: { duration: 20, steps: 20 } }, undefined, { signal: abort.signal, onprogress: () => abort.abort("user pressed stop"), timeout: 60_000 });
    await expect(call).rejects.toThrow();
    await expect.poll(async () => (await rows("trigger-long-running-operation")).map((r) => r.outcome), { timeout: 30_000 }).toEqual(["cancelled"]);
    await client.close();
  });

  it("records an unknown tool on an allowed server as not_found, a hidden server as denied; both answer Unknown tool", async () => {
    const client = await portalClient(portal.url, TOKEN);
    await expect(client.callTool({ name: "everything_no-such-tool", arguments: {} })).rejects.toThrow(/Unknown tool: everything_no-such-tool/);
    await expect(client.callTool({ name: "hidden_echo", arguments: { message: "x" } })).rejects.toThrow(/Unknown tool: hidden_echo/);
    await expect(client.callTool({ name: "nosuchserver_echo", arguments: {} })).rejects.toThrow(/Unknown tool: nosuchserver_echo/);
    expect((await rows("no-such-tool")).map((r) => r.outcome)).toEqual(["not_found"]);
    expect((await rows("echo")).map((r) => `${r.serverId}:${r.outcome}`).sort()).toEqual(["hidden:denied", "nosuchserver:not_found"]);
    await client.close();
  });

  it("records the upstream's own refusal as tool_error, not denied (server-filesystem outside its root)", async () => {
    const client = await portalClient(portal.url, TOKEN);
    expect(textOf(await client.callTool({ name: "files_read_text_file", arguments: { path: join(root, "notes.txt") } }))).toContain("allowed content");
    const outside = (await client.callTool({ name: "files_read_text_file", arguments: { path: "/etc/hostname" } })) as CallToolResult;
    expect(outside.isError).toBe(true);
    expect((await rows("read_text_file")).map((r) => r.outcome).sort()).toEqual(["ok", "tool_error"]);
    await client.close();
  });

  it("namespaces resource_link and embedded resource URIs in results, and both read back", async () => {
    const client = await portalClient(portal.url, TOKEN);
    const embedded = (await client.callTool({ name: "everything_gzip-file-as-resource", arguments: { name: "e.gz", data: "data:text/plain,embedded", outputType: "resource" } })) as CallToolResult;
    const block = embedded.content.find((b): b is EmbeddedResource => b.type === "resource");
    expect(block?.resource.uri).toBe("gatehouse-mcp://everything/demo://resource/session/e.gz");
    expect((await client.readResource({ uri: block!.resource.uri })).contents[0]).toMatchObject({ uri: block!.resource.uri, blob: (block!.resource as { blob: string }).blob });
    const links = (await client.callTool({ name: "everything_get-resource-links", arguments: { count: 2 } })) as CallToolResult;
    const uris = links.content.flatMap((b) => (b.type === "resource_link" ? [b.uri] : []));
    expect(uris).toHaveLength(2);
    for (const uri of uris) {
      expect(uri.startsWith("gatehouse-mcp://everything/demo://resource/")).toBe(true);
      expect((await client.readResource({ uri })).contents[0]?.uri).toBe(uri);
    }
    await client.close();
  });
});
