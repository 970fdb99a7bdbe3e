import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countTokens } from "gpt-tokenizer";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { mcpServersSchema } from "../../src/mcp/index.ts";
import { InThreadQuickJSExecutor } from "../../src/sandbox/index.ts";
import { generatedTools } from "./fixtures/catalog.ts";
import { hostStreamableHttp, type HostedUpstream } from "./fixtures/upstream-host.ts";
import { caller, startPortal, TokenTableAuthenticator, type RunningPortal } from "./harness.ts";

/**
 * The Code Mode saving, measured: tokens (o200k_base, gpt-tokenizer) of the tools/list the
 * model would be given natively — every tool of every configured upstream — versus the
 * tools/list in Code Mode. Fixture: 4 upstreams × 40 realistic tools = 160 tools.
 */
const TOKEN = "measure-token-0123456789";
const upstreams: HostedUpstream[] = [];
let portal: RunningPortal;

async function listedTools(query: string): Promise<unknown[]> {
  const client = new Client({ name: "token-measure", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${portal.url}${query}`), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }));
  const tools = (await client.listTools()).tools;
  await client.close();
  return tools;
}

beforeAll(async () => {
  const servers: Record<string, unknown> = {};
  for (const label of ["jira", "wiki", "ci", "pagerduty"]) {
    const host = await hostStreamableHttp(() => {
      const server = new McpServer({ name: label, version: "1.0.0" });
      for (const spec of generatedTools(label, 40)) spec.register(server);
      return server;
    });
    upstreams.push(host);
    servers[label] = { type: "http", url: host.url };
  }
  portal = await startPortal({
    servers: mcpServersSchema.parse(servers),
    executor: new InThreadQuickJSExecutor(),
    authenticator: new TokenTableAuthenticator({ [TOKEN]: caller("measurer", ["eng"]) }),
  });
}, 60_000);

afterAll(async () => {
  await portal?.close();
  for (const host of upstreams) await host.close();
});

describe("Code Mode token saving", () => {
  it("the two Code Mode tools cost a small fraction of the native catalogue", async () => {
    const native = (await listedTools("")).filter((t) => (t as { name: string }).name !== "portal_list_servers");
    const codemode = await listedTools("?codemode=search_and_execute");
    expect(native).toHaveLength(160);
    expect(codemode).toHaveLength(2);
    const nativeTokens = countTokens(JSON.stringify(native));
    const codemodeTokens = countTokens(JSON.stringify(codemode));
    const saving = 1 - codemodeTokens / nativeTokens;
    console.log(`[token-savings] native tools/list: ${native.length} tools, ${nativeTokens} tokens; Code Mode: ${codemode.length} tools, ${codemodeTokens} tokens; saving ${(saving * 100).toFixed(1)}%`);
    expect(codemodeTokens).toBeLessThan(nativeTokens / 20);
  });
});
