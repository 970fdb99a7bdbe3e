import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { groupAllowListPolicy, listAuditEntries, mcpServersSchema } from "../../src/mcp/index.ts";
import { WorkerPoolExecutor } from "../../src/adapters/node/mcp/index.ts";
import type { CodeExecutor } from "../../src/sandbox/index.ts";
import { typeScriptErrors } from "../sandbox/typescript-check.ts";
import { hostStreamableHttp, type HostedUpstream } from "./fixtures/upstream-host.ts";
import { caller, startPortal, TokenTableAuthenticator, type RunningPortal } from "./harness.ts";

/** Code Mode limits through the real portal: who may run code, what a timeout cancels, what search keeps. */
const ALICE = "alice-token-0123456789";
const NOBODY = "nobody-token-0123456789";
const TOOL_COUNT = 100;
const POOL_SIZE = 2;
const RUNS_PER_WORKER = 4;
const WORKER_HEAP_MB = 128;
const MEMORY_MB = 32;
/** Per worker: ~40 MB base, its heap limit, and one capped memory (limit + 16 MB module base) per concurrent run. */
const RSS_BOUND_MB = POOL_SIZE * (40 + WORKER_HEAP_MB + RUNS_PER_WORKER * (MEMORY_MB + 16));

let slow: HostedUpstream;
let wide: HostedUpstream;
let portal: RunningPortal;
let pool: WorkerPoolExecutor;
/** Executions that reached the sandbox, per caller. */
const executionsBy: Record<string, number> = {};
/** What the slow tool's handler saw: started, and aborted (the portal's notifications/cancelled). */
const upstreamCalls: { started: number; aborted: number; reasons: string[] } = { started: 0, aborted: 0, reasons: [] };
let abortedOnce: () => void = () => undefined;

function slowServer(): McpServer {
  const server = new McpServer({ name: "slow", version: "1.0.0" });
  server.registerTool("wait", { description: "Waits until cancelled.", inputSchema: {} }, async (_args, extra) => {
    upstreamCalls.started += 1;
    await new Promise<void>((resolve) => {
      extra.signal.addEventListener("abort", () => {
        upstreamCalls.aborted += 1;
        upstreamCalls.reasons.push(String(extra.signal.reason));
        abortedOnce();
        resolve();
      });
    });
    return { content: [{ type: "text", text: "ran to the end" }] };
  });
  return server;
}

/** A wide catalogue: long descriptions and big schemas, so the search output must give way somewhere. */
function wideServer(): McpServer {
  const server = new McpServer({ name: "wide", version: "1.0.0" });
  for (let i = 0; i < TOOL_COUNT; i++) {
    const shape: Record<string, z.ZodString> = {};
    for (let p = 0; p < 12; p++) shape[`field_${p}_with_a_long_name`] = z.string().describe(`Field ${p} of tool ${i}: ${"a detailed explanation ".repeat(4)}`);
    server.registerTool(`tool-${String(i).padStart(3, "0")}`, { description: `Tool ${i}. ${"It does many careful things. ".repeat(20)}`, inputSchema: shape }, async () => ({ content: [{ type: "text", text: `tool ${i}` }] }));
  }
  return server;
}

function countingExecutor(inner: CodeExecutor): CodeExecutor {
  return {
    execute(code, bridge, limits, context) {
      const id = context?.callerId ?? "";
      executionsBy[id] = (executionsBy[id] ?? 0) + 1;
      return inner.execute(code, bridge, limits, context);
    },
    close: () => inner.close(),
  };
}

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: "codemode-limits", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${portal.url}?codemode=search_and_execute`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

function textOf(result: unknown): string {
  return ((result as CallToolResult).content[0] as { text: string }).text;
}

beforeAll(async () => {
  slow = await hostStreamableHttp(slowServer);
  wide = await hostStreamableHttp(wideServer);
  pool = new WorkerPoolExecutor({ size: POOL_SIZE, runsPerWorker: RUNS_PER_WORKER, workerHeapMb: WORKER_HEAP_MB, watchdogGraceMs: 20_000 });
  portal = await startPortal({
    servers: mcpServersSchema.parse({ slow: { type: "http", url: slow.url }, wide: { type: "http", url: wide.url } }),
    executor: countingExecutor(pool),
    // Long enough for a bomb to reach the memory limit (not end by timeout), short enough to wait for in the timeout test.
    sandboxLimits: { timeoutMs: 5_000, memoryBytes: MEMORY_MB * 1024 * 1024 },
    authenticator: new TokenTableAuthenticator({ [ALICE]: caller("alice", ["eng"]), [NOBODY]: caller("nobody", ["guests"]) }),
    policy: groupAllowListPolicy({ eng: ["*"], guests: [] }),
  });
}, 60_000);

afterAll(async () => {
  await portal?.close();
  await pool?.close();
  await slow?.close();
  await wide?.close();
});

describe("Code Mode fails closed for a caller with no server", () => {
  it("codemode_execute is refused, and no sandbox runs", async () => {
    const nobody = await connect(NOBODY);
    try {
      await expect(nobody.callTool({ name: "codemode_execute", arguments: { code: "return 1 + 1" } })).rejects.toThrow(/may not use any MCP server/);
      expect(executionsBy["nobody"]).toBeUndefined();
    } finally {
      await nobody.close();
    }
  });
});

describe("memory bombs through the portal", () => {
  it(`ArrayBuffer, typed-array, string and array bombs from several clients at once end in clean errors; the gateway grows by less than ${RSS_BOUND_MB} MB`, async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, () => connect(ALICE)));
    try {
      await clients[0]!.callTool({ name: "codemode_execute", arguments: { code: "return 0" } });
      const baseline = process.memoryUsage().rss / 1024 / 1024;
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss / 1024 / 1024)), 5);
      const bombs = [
        "const kept = []; for (;;) kept.push(new ArrayBuffer(16 * 1024 * 1024));",
        "const kept = []; for (;;) kept.push(new Uint8Array(4 * 1024 * 1024).fill(7));",
        "const kept = []; for (let i = 0; ; i++) kept.push('x'.repeat(1024 * 1024) + i);",
        "const kept = []; for (;;) kept.push([kept.length, kept.length]);",
      ];
      const results = await Promise.all(bombs.map((code, i) => clients[i]!.callTool({ name: "codemode_execute", arguments: { code } }))).finally(() => clearInterval(sampler));
      for (const result of results) {
        expect((result as CallToolResult).isError).toBe(true);
        expect(JSON.parse(textOf(result))).toMatchObject({ error: expect.stringMatching(/out of memory/) });
      }
      const grown = peak - baseline;
      console.info(`portal memory bombs: baseline ${baseline.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, grown ${grown.toFixed(0)} MB, bound ${RSS_BOUND_MB} MB`);
      expect(grown).toBeLessThan(RSS_BOUND_MB);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  }, 120_000);
});

describe("a Code Mode timeout cancels the upstream calls it made", () => {
  it("the upstream receives notifications/cancelled, and the call is audited as cancelled, not ok", async () => {
    const alice = await connect(ALICE);
    try {
      const aborted = new Promise<void>((resolve) => (abortedOnce = resolve));
      const result = (await alice.callTool({ name: "codemode_execute", arguments: { code: "return await codemode.slow_wait({})" } })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(JSON.parse(textOf(result))).toMatchObject({ error: expect.stringMatching(/timed out/) });
      await aborted;
      expect(upstreamCalls).toMatchObject({ started: 1, aborted: 1 });
      expect(upstreamCalls.reasons[0]).toMatch(/timed out/);
      await portal.runtime.audit.flush();
      const rows = await listAuditEntries(portal.deps.db, { callerId: "alice", serverId: "slow" });
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ tool: "wait", via: "codemode" });
      expect(["timeout", "cancelled"]).toContain(rows[0]!.outcome);
    } finally {
      await alice.close();
    }
  }, 60_000);
});

describe("search output that must be cut keeps every callable name", () => {
  it(`all ${TOOL_COUNT} tools of a wide catalogue are named, in valid declarations, within the response cap`, async () => {
    const alice = await connect(ALICE);
    try {
      const text = textOf(await alice.callTool({ name: "codemode_search", arguments: { query: "tool", limit: 100 } }));
      expect(text.length).toBeLessThanOrEqual(24_000);
      for (let i = 0; i < TOOL_COUNT; i++) expect(text).toContain(`"wide_tool-${String(i).padStart(3, "0")}"(input: `);
      expect(text).toMatch(/tools are shown without their schemas \(every name is kept\)/);
      expect(text).not.toContain("truncated by gatehouse");
      expect(text.trimEnd().endsWith("};")).toBe(true);
      expect(typeScriptErrors(text)).toEqual([]);
      // The first tools keep their schemas: the ones the ranking put first are the most useful.
      expect(text).toMatch(/field_0_with_a_long_name\??: string;/);
    } finally {
      await alice.close();
    }
  });
});
