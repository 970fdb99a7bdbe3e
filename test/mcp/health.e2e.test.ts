import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { spawnStdioServer } from "../../src/adapters/node/mcp/index.ts";
import { listAuditEntries, mcpServersSchema, type ServerStatus } from "../../src/mcp/index.ts";
import { hostHungUpstream, type HungUpstream } from "./fixtures/hung-upstream.ts";
import { caller, startPortal, TokenTableAuthenticator, type RunningPortal } from "./harness.ts";
import { portalClient, textOf } from "./real/clients.ts";
import { EverythingHttp, freePort, realServersAvailable, requireEntry } from "./real/servers.ts";

/**
 * Per-upstream health with real servers: server-everything (Streamable HTTP in its own
 * process, restarted in place; and stdio) next to a hung upstream, a refused port and a
 * stdio command that does not exist. The stated bound: a list answers within 3 s
 * (listBoundMs) whatever the upstreams do; the assertions allow 2 s more for a loaded machine.
 */
const TOKEN = "health-token-0123456789";
const BOUND_MS = 3_000;
const SLACK_MS = 2_000;
let everything: EverythingHttp;
let hung: HungUpstream;
let portal: RunningPortal;

beforeAll(async () => {
  if (!realServersAvailable) return;
  everything = await EverythingHttp.start();
  hung = await hostHungUpstream();
  const refusedPort = await freePort();
  portal = await startPortal({
    servers: mcpServersSchema.parse({
      everything: { type: "http", url: everything.url, scope: "shared" },
      local: { type: "stdio", command: process.execPath, args: [requireEntry("server-everything"), "stdio"] },
      hung: { type: "http", url: hung.url, timeoutMs: 6_000 },
      refused: { type: "http", url: `http://127.0.0.1:${refusedPort}/mcp` },
      missing: { type: "stdio", command: "/nonexistent/gatehouse-no-such-mcp-server" },
      slowtools: { type: "stdio", scope: "shared", command: process.execPath, args: [requireEntry("server-everything"), "stdio"], timeoutMs: 4_000 },
    }),
    stdio: spawnStdioServer,
    listBoundMs: BOUND_MS,
    authenticator: new TokenTableAuthenticator({ [TOKEN]: caller("health", ["eng"]) }),
  });
}, 60_000);

afterAll(async () => {
  await portal?.close();
  await everything?.stop();
  await hung?.close();
});

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await run();
  return { value, ms: performance.now() - started };
}

async function statuses(client: Awaited<ReturnType<typeof portalClient>>): Promise<Record<string, ServerStatus>> {
  const result = (await client.callTool({ name: "portal_list_servers", arguments: {} })) as CallToolResult;
  return Object.fromEntries((result.structuredContent as { servers: ServerStatus[] }).servers.map((s) => [s.id, s]));
}

describe.skipIf(!realServersAvailable)("per-upstream health (real server-everything, a hung upstream)", () => {
  it("lists answer within the bound from the servers that are up, and never wait for the hung one twice", async () => {
    const client = await portalClient(portal.url, TOKEN);
    const first = await timed(() => client.listTools());
    expect(first.ms).toBeLessThan(BOUND_MS + SLACK_MS);
    const names = first.value.tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["everything_echo", "local_echo", "portal_list_servers"]));
    expect(names.some((n) => n.startsWith("hung_") || n.startsWith("refused_") || n.startsWith("missing_"))).toBe(false);
    // The negative cache: the next lists skip the hung server instead of waiting for it again.
    for (const list of [(): Promise<unknown> => client.listTools(), (): Promise<unknown> => client.listResources(), (): Promise<unknown> => client.listPrompts()]) {
      const again = await timed(list);
      expect(again.ms).toBeLessThan(BOUND_MS);
    }
    expect(hung.requests()).toBe(1);
    await client.close();
  });

  it("portal_list_servers marks each failing server with its reason and the healthy ones ok", async () => {
    const client = await portalClient(portal.url, TOKEN);
    const { value: byId, ms } = await timed(() => statuses(client));
    expect(ms).toBeLessThan(BOUND_MS + SLACK_MS);
    expect(byId["everything"]).toMatchObject({ status: "ok", scope: "shared" });
    expect(byId["local"]).toMatchObject({ status: "ok", scope: "per-user" });
    expect(byId["hung"]).toMatchObject({ status: "unavailable", error: `no answer within ${BOUND_MS} ms` });
    expect(byId["refused"]).toMatchObject({ status: "unavailable", error: "connection refused" });
    expect(byId["missing"]).toMatchObject({ status: "unavailable", error: "command not found" });
    await client.close();
  });

  it("a call to the hung server times out once; the breaker then refuses at once; healthy calls go on", async () => {
    const client = await portalClient(portal.url, TOKEN);
    const [hungCall, healthy] = await Promise.all([
      timed(() =>
        client.callTool({ name: "hung_anything", arguments: {} }).then(
          () => "answered",
          (err: Error) => err.message,
        ),
      ),
      client.callTool({ name: "everything_echo", arguments: { message: "up" } }),
    ]);
    expect(textOf(healthy)).toContain("up");
    expect(hungCall.value).toMatch(/timed out|unavailable/);
    const refused = await timed(() =>
      client.callTool({ name: "hung_anything", arguments: {} }).then(
        () => "answered",
        (err: Error) => err.message,
      ),
    );
    expect(refused.value).toMatch(/MCP server "hung" is unavailable \(.*\); the portal retries it in \d+ s/);
    expect(refused.ms).toBeLessThan(1_000);
    await client.close();
    await portal.runtime.audit.flush();
    const outcomes = (await listAuditEntries(portal.deps.db, { serverId: "hung" })).map((r) => r.outcome);
    expect(outcomes).toContain("unavailable");
  });

  it("one caller's slow tool call (its own timeout) does not open the breaker for everyone", async () => {
    const attacker = await portalClient(portal.url, TOKEN);
    expect(textOf(await attacker.callTool({ name: "slowtools_echo", arguments: { message: "warm" } }))).toContain("warm");
    const slow = await attacker.callTool({ name: "slowtools_trigger-long-running-operation", arguments: { duration: 10, steps: 5 } }).then(
      () => "answered",
      (err: Error) => err.message,
    );
    expect(slow).toMatch(/timed out/i);
    expect(portal.runtime.pool().health("slowtools")?.snapshot().state).toBe("ok");
    const other = await portalClient(portal.url, TOKEN);
    expect(textOf(await other.callTool({ name: "slowtools_echo", arguments: { message: "still served" } }))).toContain("still served");
    await attacker.close();
    await other.close();
    await portal.runtime.audit.flush();
    expect((await listAuditEntries(portal.deps.db, { serverId: "slowtools", tool: "trigger-long-running-operation" })).map((r) => r.outcome)).toEqual(["timeout"]);
  });

  it("re-initialises when a restarted upstream answers the stale session id with 400, and shows it down while it is down", async () => {
    const client = await portalClient(portal.url, TOKEN);
    expect(textOf(await client.callTool({ name: "everything_echo", arguments: { message: "before" } }))).toContain("before");
    await everything.stop();
    const down = await statuses(client);
    expect(down["everything"]).toMatchObject({ status: "unavailable", error: "connection refused" });
    await everything.restartProcess();
    // server-everything answers the old Mcp-Session-Id with 400 "No valid session ID": the portal must start a new session.
    expect(textOf(await client.callTool({ name: "everything_echo", arguments: { message: "after" } }))).toContain("after");
    expect((await statuses(client))["everything"]).toMatchObject({ status: "ok" });
    await client.close();
  });
});
