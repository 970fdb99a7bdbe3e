import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { mcpServersSchema } from "../../src/mcp/index.ts";
import { spawnStdioServer, WorkerPoolExecutor } from "../../src/adapters/node/mcp/index.ts";
import { typeScriptErrors } from "../sandbox/typescript-check.ts";
import { caller, startPortal, TokenTableAuthenticator, type RunningPortal } from "./harness.ts";
import { realServerEntry } from "./real/servers.ts";

/**
 * Code Mode over the real @modelcontextprotocol/server-everything (stdio), whose tool names
 * are hyphenated (get-sum, get-structured-content…): they are declared as quoted members and
 * called exactly as declared. The server is a devDependency (test/mcp/real/servers.ts finds it).
 */
const everythingEntry = realServerEntry("server-everything");

const ALICE = "alice-token-0123456789";
let portal: RunningPortal;
let pool: WorkerPoolExecutor;
let alice: Client;

function textOf(result: unknown): string {
  return ((result as CallToolResult).content[0] as { text: string }).text;
}

describe.skipIf(!everythingEntry)("Code Mode with server-everything's hyphenated tool names", () => {
  beforeAll(async () => {
    pool = new WorkerPoolExecutor({ size: 1, watchdogGraceMs: 20_000 });
    portal = await startPortal({
      servers: mcpServersSchema.parse({ everything: { type: "stdio", command: process.execPath, args: [everythingEntry!, "stdio"] } }),
      stdio: spawnStdioServer,
      executor: pool,
      sandboxLimits: { timeoutMs: 15_000 },
      authenticator: new TokenTableAuthenticator({ [ALICE]: caller("alice", ["eng"]) }),
    });
    alice = new Client({ name: "codemode-everything", version: "1.0.0" });
    await alice.connect(new StreamableHTTPClientTransport(new URL(`${portal.url}?codemode=search_and_execute`), { requestInit: { headers: { authorization: `Bearer ${ALICE}` } } }));
  }, 60_000);

  afterAll(async () => {
    await alice?.close();
    await portal?.close();
    await pool?.close();
  });

  it("search declares every tool as valid TypeScript, quoting the names that are not identifiers, and says how to call them", async () => {
    const text = textOf(await alice.callTool({ name: "codemode_search", arguments: { query: "", limit: 100 } }));
    expect(text).toContain('"everything_get-sum"(input: EverythingGetSumInput): Promise<EverythingGetSumOutput>;');
    expect(text).toContain("  everything_echo(input: EverythingEchoInput)");
    expect(text).toContain('call them as written, e.g. codemode["everything_');
    const hyphenated = [...text.matchAll(/^ {2}"(everything_[^"]+)"\(input/gm)].map((m) => m[1]);
    expect(hyphenated.length).toBeGreaterThanOrEqual(12);
    // What a model writes from these declarations type-checks as written.
    const usage = `
async function use(): Promise<void> {
  const sum: EverythingGetSumOutput = await codemode["everything_get-sum"]({ a: 2, b: 3 });
  const echoed = await codemode.everything_echo({ message: "hi" });
  console.log(sum, echoed);
}
declare const console: { log(...values: unknown[]): void };
void use;`;
    expect(typeScriptErrors(`${text}\n${usage}`)).toEqual([]);
  }, 60_000);

  it("execute calls hyphenated tools exactly as declared", async () => {
    const result = (await alice.callTool({
      name: "codemode_execute",
      arguments: { code: `const sum = await codemode["everything_get-sum"]({ a: 2, b: 3 }); const echoed = await codemode.everything_echo({ message: "hi" }); return { sum, echoed };` },
    })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    const body = JSON.parse(textOf(result)) as { result: { sum: string; echoed: string }; toolCalls: number };
    expect(body.result.sum).toMatch(/\b5\b/);
    expect(body.result.echoed).toMatch(/hi/);
    expect(body.toolCalls).toBe(2);
  }, 60_000);
});
