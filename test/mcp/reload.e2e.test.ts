import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { spawnStdioServer } from "../../src/adapters/node/mcp/index.ts";
import { compileConfigOrThrow, ConfigHolder } from "../../src/config/index.ts";
import type { StdioTransportFactory } from "../../src/mcp/index.ts";
import { caller, startPortal, TokenTableAuthenticator, type RunningPortal } from "./harness.ts";
import { portalClient, textOf } from "./real/clients.ts";
import { EverythingHttp, realServersAvailable, requireEntry } from "./real/servers.ts";

/**
 * Config reload as a diff, with the real gatehouse.yaml compiler and real server-everything
 * upstreams (stdio and Streamable HTTP): only servers whose entry changed restart.
 */
const TOKEN = "reload-token-0123456789";
let everything: EverythingHttp;
let config: ConfigHolder;
let portal: RunningPortal;
const spawned: { serverId: string; transport: StdioClientTransport }[] = [];
const tracked: StdioTransportFactory = (serverId, server, env) => {
  const transport = spawnStdioServer(serverId, server, env);
  if (transport instanceof StdioClientTransport) spawned.push({ serverId, transport });
  return transport;
};

function yaml(comment: string, webDescription: string): string {
  return [
    `# ${comment}`,
    "mcp:",
    "  local:",
    "    type: stdio",
    "    scope: shared",
    `    command: ${JSON.stringify(process.execPath)}`,
    `    args: [${JSON.stringify(requireEntry("server-everything"))}, stdio]`,
    "  web:",
    "    type: http",
    `    url: ${everything.url}`,
    "    scope: shared",
    `    description: ${JSON.stringify(webDescription)}`,
    "",
  ].join("\n");
}

const compile = (text: string) => compileConfigOrThrow([{ path: "gatehouse.yaml", text }]);

beforeAll(async () => {
  if (!realServersAvailable) return;
  everything = await EverythingHttp.start();
  config = new ConfigHolder(compile(yaml("first", "the web server")));
  portal = await startPortal({ config, stdio: tracked, authenticator: new TokenTableAuthenticator({ [TOKEN]: caller("reload", ["eng"]) }) });
}, 60_000);

afterAll(async () => {
  await portal?.close();
  await everything?.stop();
});

/**
 * A 3-step long-running call, resolved once its first progress arrived (it is in flight
 * upstream). The answer is wrapped: an async function returning a bare promise would adopt it,
 * so awaiting the call would wait for the answer and nothing would be in flight any more.
 */
async function longCall(client: Awaited<ReturnType<typeof portalClient>>, name: string): Promise<{ answer: Promise<string> }> {
  let started!: () => void;
  const inFlight = new Promise<void>((resolve) => (started = resolve));
  const result = client.callTool({ name, arguments: { duration: 2, steps: 4 } }, undefined, { onprogress: () => started(), timeout: 60_000 }).then(textOf);
  await inFlight;
  return { answer: result };
}

describe.skipIf(!realServersAvailable)("config reload applies a diff", () => {
  it("a comment-only edit restarts nothing: in-flight calls finish, the stdio process stays", async () => {
    const client = await portalClient(portal.url, TOKEN);
    const running = [await longCall(client, "local_trigger-long-running-operation"), await longCall(client, "web_trigger-long-running-operation")];
    const pids = spawned.map((s) => s.transport.pid);
    const webHealth = portal.runtime.pool().health("web");
    config.replace(compile(yaml("an edited comment", "the web server")));
    for (const call of running) expect(await call.answer).toContain("Long running operation");
    expect(spawned.map((s) => s.transport.pid)).toEqual(pids);
    expect(portal.runtime.pool().health("web")).toBe(webHealth);
    expect(textOf(await client.callTool({ name: "local_echo", arguments: { message: "same process" } }))).toContain("same process");
    expect(spawned).toHaveLength(1);
    await client.close();
  });

  it("changing one server's entry restarts only that server; calls on the others finish", async () => {
    const client = await portalClient(portal.url, TOKEN);
    const local = await longCall(client, "local_trigger-long-running-operation");
    const pid = spawned[0]!.transport.pid;
    const webHealth = portal.runtime.pool().health("web");
    config.replace(compile(yaml("an edited comment", "a new description")));
    expect(await local.answer).toContain("Long running operation");
    expect(spawned.map((s) => s.transport.pid)).toEqual([pid]);
    expect(portal.runtime.pool().health("web")).not.toBe(webHealth);
    expect(portal.runtime.pool().config("web")?.description).toBe("a new description");
    expect(textOf(await client.callTool({ name: "web_echo", arguments: { message: "new entry" } }))).toContain("new entry");
    await client.close();
  });
});
