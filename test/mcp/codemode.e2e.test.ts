import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { groupAllowListPolicy, listAuditEntries, mcpServersSchema } from "../../src/mcp/index.ts";
import { WorkerPoolExecutor } from "../../src/adapters/node/mcp/index.ts";
import { hostStreamableHttp, type HostedUpstream } from "./fixtures/upstream-host.ts";
import { ticketsServer } from "./fixtures/tickets-server.ts";
import { caller, startPortal, TokenTableAuthenticator, type RunningPortal } from "./harness.ts";

const ALICE = "alice-token-0123456789";
const BOB = "bob-token-0123456789ab";
let tickets: HostedUpstream;
let ops: HostedUpstream;
let portal: RunningPortal;
let pool: WorkerPoolExecutor;
let alice: Client;

interface ExecuteBody {
  result?: unknown;
  logs?: string[];
  error?: string;
  toolCalls: number;
}

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: "codemode-e2e", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${portal.url}?codemode=search_and_execute`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

async function execute(client: Client, code: string): Promise<{ body: ExecuteBody; isError: boolean; raw: string }> {
  const result = (await client.callTool({ name: "codemode_execute", arguments: { code } })) as CallToolResult;
  const raw = (result.content[0] as { text: string }).text;
  let body: ExecuteBody;
  try {
    body = JSON.parse(raw) as ExecuteBody;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    body = { toolCalls: -1 };
  }
  return { body, isError: result.isError === true, raw };
}

beforeAll(async () => {
  tickets = await hostStreamableHttp(() => ticketsServer("tickets"));
  ops = await hostStreamableHttp(() => ticketsServer("ops", 20));
  // The watchdog (deadline + grace) only backs up QuickJS's own interrupt; a short grace let a loaded
  // machine reach it first (a cold worker's start counts against it), turning "timed out" or
  // "out of memory" into a terminated worker. 4 s deadline: room for three real tool calls under load.
  pool = new WorkerPoolExecutor({ size: 2, watchdogGraceMs: 20_000 });
  portal = await startPortal({
    servers: mcpServersSchema.parse({ tickets: { type: "http", url: tickets.url }, ops: { type: "http", url: ops.url } }),
    executor: pool,
    sandboxLimits: { timeoutMs: 4_000, memoryBytes: 32 * 1024 * 1024 },
    authenticator: new TokenTableAuthenticator({ [ALICE]: caller("alice", ["eng"]), [BOB]: caller("bob", ["sales"]) }),
    policy: groupAllowListPolicy({ eng: ["*"], sales: ["tickets"] }),
  });
  alice = await connect(ALICE);
}, 60_000);

afterAll(async () => {
  await alice?.close();
  await portal?.close();
  await pool?.close();
  await tickets?.close();
  await ops?.close();
});

describe("Code Mode (?codemode=search_and_execute)", () => {
  it("exposes exactly the two Code Mode tools", async () => {
    const tools = (await alice.listTools()).tools;
    expect(tools.map((t) => t.name)).toEqual(["codemode_search", "codemode_execute"]);
    expect(tools[1]!.inputSchema.required).toEqual(["code"]);
  });

  it("search returns TypeScript declarations generated from the tools' JSON Schemas", async () => {
    const result = (await alice.callTool({ name: "codemode_search", arguments: { query: "create ticket" } })) as CallToolResult;
    const text = (result.content[0] as { text: string }).text;
    expect(text).toContain("type TicketsCreateTicketInput = {");
    expect(text).toContain("/** Ticket title */");
    expect(text).toContain("title: string;");
    expect(text).toContain("type TicketsCreateTicketOutput = {");
    expect(text).toContain("declare const codemode: {");
    expect(text).toContain("tickets_create_ticket(input: TicketsCreateTicketInput): Promise<TicketsCreateTicketOutput>;");
  });

  it("search only shows tools the caller may use", async () => {
    const bob = await connect(BOB);
    const result = (await bob.callTool({ name: "codemode_search", arguments: { query: "", limit: 100 } })) as CallToolResult;
    const text = (result.content[0] as { text: string }).text;
    expect(text).toContain("tickets_echo(");
    expect(text).not.toContain("ops_");
    const { body, isError } = await execute(bob, "return await codemode.ops_echo({ text: 'x' })");
    expect(isError).toBe(true);
    expect(body.error).toContain("Unknown tool: ops_echo");
    await bob.close();
  });

  it("executes model code: tool calls, Promise.all, console output, structured results", async () => {
    const { body, isError } = await execute(
      alice,
      `const [a, b] = await Promise.all([codemode.tickets_echo({ text: "one" }), codemode.ops_echo({ text: "two" })]);
       const ticket = await codemode.tickets_create_ticket({ title: a + "+" + b });
       console.log("made", ticket.id);
       return { a, b, ticket };`,
    );
    expect(isError).toBe(false);
    expect(body.result).toEqual({ a: "one", b: "two", ticket: { id: "T-1", title: "one+two" } });
    expect(body.logs).toEqual(["made T-1"]);
    expect(body.toolCalls).toBe(3);
    await portal.runtime.audit.flush();
    const rows = await listAuditEntries(portal.deps.db, { callerId: "alice" });
    expect(rows.filter((r) => r.via === "codemode").map((r) => `${r.serverId}/${r.tool}`)).toEqual(expect.arrayContaining(["tickets/echo", "ops/echo", "tickets/create_ticket"]));
  });

  it("accepts an async arrow function and surfaces tool errors as exceptions", async () => {
    const { body } = await execute(alice, `async () => { try { await codemode.tickets_fail({}); } catch (e) { return "caught: " + e.message; } }`);
    expect(body.result).toBe("caught: codemode.tickets_fail: this tool always fails");
  });

  it("truncates large results with a marker", async () => {
    const { body, raw } = await execute(alice, `return await codemode.tickets_big_output({ n: 100000 })`);
    expect(raw.length).toBeLessThan(25_000);
    expect(raw).toContain("truncated by gatehouse");
    expect(body.toolCalls === -1 || typeof body.result === "string").toBe(true);
  });
});

describe("Code Mode sandbox escapes each end in a clean error while the gateway keeps serving", () => {
  const attempts: [string, string, RegExp | undefined][] = [
    ["constructor.constructor reaches no host", `return constructor.constructor("return [typeof process, typeof require, typeof fetch, typeof globalThis.__gatehouseCall]")()`, undefined],
    ["prototype tricks stay inside", `Object.prototype.polluted = "yes"; Array.prototype.map = null; return ({}).polluted`, undefined],
    ["no network", `return await fetch("http://127.0.0.1/")`, /ReferenceError/],
    ["no module loading", `const m = await import("node:fs"); return Object.keys(m)`, /Error/],
    ["infinite loop", `while (true) {}`, /timed out/],
    ["memory bomb (one huge allocation)", `return "x".repeat(2 ** 27).length`, /out of memory/],
    ["memory bomb (slow growth)", `const a = []; for (;;) a.push({ x: new Array(1000).fill(1) });`, /memory|timed out/],
    ["stack bomb", `function f() { return f() + 1 } return f()`, /stack/],
    ["promise that never settles", `await new Promise(() => {})`, /never settled/],
    ["tool-call flood", `await Promise.all(Array.from({ length: 500 }, () => codemode.tickets_echo({ text: "x" })))`, /Too many tool calls/],
  ];

  for (const [label, code, expectedError] of attempts) {
    it(label, async () => {
      const { body, isError } = await execute(alice, code);
      if (expectedError) {
        expect(isError).toBe(true);
        expect(body.error).toMatch(expectedError);
      } else {
        expect(isError).toBe(false);
      }
      // The host is untouched and still serving.
      expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
      expect((await execute(alice, "return 1 + 1")).body.result).toBe(2);
    });
  }

  it("constructor.constructor sees no host globals", async () => {
    const { body } = await execute(alice, `return constructor.constructor("return [typeof process, typeof require, typeof fetch, typeof globalThis.__gatehouseCall]")()`);
    expect(body.result).toEqual(["undefined", "undefined", "undefined", "undefined"]);
  });

  it("huge console output is cut with a marker", async () => {
    const { body } = await execute(alice, `for (let i = 0; i < 5000; i++) console.log("line " + i); return "done"`);
    expect(body.result).toBe("done");
    expect(body.logs!.at(-1)).toMatch(/console output truncated by gatehouse/);
  });

  it("a non-object tool argument is refused", async () => {
    const { body } = await execute(alice, `return await codemode.tickets_echo("just a string")`);
    expect(body.error).toMatch(/takes one object argument/);
  });
});
