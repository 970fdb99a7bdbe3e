import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { mcpServersSchema } from "../../src/mcp/index.ts";
import { hostStreamableHttp, type HostedUpstream } from "./fixtures/upstream-host.ts";
import { ticketsServer } from "./fixtures/tickets-server.ts";
import { caller, startPortal, TokenTableAuthenticator, type RunningPortal } from "./harness.ts";

/** The portal through a second real client: the official MCP Inspector CLI. */
const run = promisify(execFile);
const INSPECTOR = fileURLToPath(new URL("../../node_modules/@modelcontextprotocol/inspector-cli/build/index.js", import.meta.url));
const TOKEN = "inspector-token-0123456789";
let upstream: HostedUpstream;
let portal: RunningPortal;

async function inspector(...args: string[]): Promise<unknown> {
  const { stdout } = await run(process.execPath, [INSPECTOR, portal.url, "--transport", "http", "--header", `Authorization: Bearer ${TOKEN}`, ...args], {
    timeout: 90_000,
    // The CLI finds its package.json relative to the working directory (build/).
    cwd: dirname(INSPECTOR),
  });
  return JSON.parse(stdout) as unknown;
}

beforeAll(async () => {
  upstream = await hostStreamableHttp(() => ticketsServer("tickets"));
  portal = await startPortal({
    servers: mcpServersSchema.parse({ tickets: { type: "http", url: upstream.url } }),
    authenticator: new TokenTableAuthenticator({ [TOKEN]: caller("inspector", ["eng"]) }),
  });
}, 60_000);

afterAll(async () => {
  await portal?.close();
  await upstream?.close();
});

// Each test runs the Inspector CLI as a child process: generous per-test time on a loaded 2-core machine.
describe("MCP Inspector CLI against the portal", { timeout: 120_000 }, () => {
  it("lists the namespaced tools", async () => {
    const result = (await inspector("--method", "tools/list")) as { tools: { name: string }[] };
    expect(result.tools.map((t) => t.name)).toEqual(expect.arrayContaining(["tickets_echo", "tickets_create_ticket", "portal_list_servers"]));
  });

  it("calls a tool", async () => {
    const result = (await inspector("--method", "tools/call", "--tool-name", "tickets_echo", "--tool-arg", "text=hello from inspector")) as { content: { text: string }[] };
    expect(result.content[0]!.text).toBe("hello from inspector");
  });

  it("reads a namespaced resource", async () => {
    const result = (await inspector("--method", "resources/read", "--uri", "gatehouse-mcp://tickets/tickets://readme")) as { contents: { text: string }[] };
    expect(result.contents[0]!.text).toBe("Tickets are triaged daily.");
  });
});
