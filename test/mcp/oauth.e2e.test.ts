import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { mcpServersSchema } from "../../src/mcp/index.ts";
import { startOAuthServer, type OAuthFixture } from "./fixtures/oauth-server.ts";
import { hostStreamableHttp, type HostedUpstream } from "./fixtures/upstream-host.ts";
import { caller, startPortal, TokenTableAuthenticator, type RunningPortal } from "./harness.ts";

/** Per-user OAuth to an upstream: connect, encrypted storage, refresh on 401, reconnect when refresh fails. */
const ALICE = "alice-token-0123456789";
const BOB = "bob-token-0123456789ab";
const KEY = "k".repeat(16) + "0123456789abcdef-key";
let as: OAuthFixture;
let upstream: HostedUpstream;
let portal: RunningPortal;
let nextSubject = "github-user-alice";

function text(result: unknown): string {
  return ((result as CallToolResult).content[0] as { text: string }).text;
}

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: "oauth-e2e", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(portal.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

/** What a browser does: follow the connect redirect to the authorization server and back. */
async function connectAccount(token: string): Promise<Response> {
  const start = await fetch(`${portal.origin}/mcp/oauth/gh/connect`, { headers: { authorization: `Bearer ${token}`, accept: "application/json" } });
  expect(start.status).toBe(200);
  const { authorizationUrl } = (await start.json()) as { authorizationUrl: string };
  const consent = await fetch(authorizationUrl, { redirect: "manual" });
  expect(consent.status).toBe(302);
  return fetch(consent.headers.get("location")!);
}

beforeAll(async () => {
  as = await startOAuthServer(() => nextSubject);
  upstream = await hostStreamableHttp(
    () => {
      const server = new McpServer({ name: "gh", version: "1.0.0" });
      server.registerTool("whoami", { description: "The upstream user of this token.", inputSchema: {} }, async (_args, extra) => ({
        content: [{ type: "text", text: as.subjectOf(extra.requestInfo?.headers["authorization"] as string | undefined) ?? "anonymous" }],
      }));
      return server;
    },
    { requireBearer: (authorization) => as.subjectOf(authorization) !== undefined },
  );
  portal = await startPortal({
    servers: mcpServersSchema.parse({
      gh: { type: "http", url: upstream.url, auth: { oauth: { authorizationUrl: `${as.issuer}/authorize`, tokenUrl: `${as.issuer}/token`, clientId: as.clientId, clientSecret: "GH_CLIENT_SECRET", scopes: ["repo"] } } },
    }),
    authenticator: new TokenTableAuthenticator({ [ALICE]: caller("alice", ["eng"]), [BOB]: caller("bob", ["eng"]) }),
    secrets: { GH_CLIENT_SECRET: as.clientSecret, GATEHOUSE_MCP_TOKEN_KEY: KEY },
  });
}, 60_000);

afterAll(async () => {
  await portal?.close();
  await upstream?.close();
  await as?.close();
});

describe("per-user upstream OAuth", () => {
  it("asks an unconnected user to connect instead of silently showing no tools", async () => {
    const client = await connect(ALICE);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["portal_list_servers"]);
    const status = (await client.callTool({ name: "portal_list_servers", arguments: {} })) as CallToolResult;
    expect(status.structuredContent).toEqual({ servers: [expect.objectContaining({ id: "gh", status: "needs_connect", connectPath: "/mcp/oauth/gh/connect" })] });
    await expect(client.callTool({ name: "gh_whoami", arguments: {} })).rejects.toThrow(/open \/mcp\/oauth\/gh\/connect/);
    await client.close();
  });

  it("connects with PKCE and the resource indicator, and stores the tokens encrypted", async () => {
    const done = await connectAccount(ALICE);
    expect(done.status).toBe(200);
    expect(await done.text()).toContain("connected to <b>gh</b>");
    expect(as.counts.codes).toBe(1);
    expect(as.resources.every((r) => r === upstream.url)).toBe(true);
    const rows = await portal.deps.db.selectFrom("mcp_oauth_tokens").selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.caller_id).toBe("alice");
    expect(rows[0]!.ciphertext).not.toMatch(/[0-9a-f]{48}/); // no hex token in clear
    expect(JSON.stringify(rows)).not.toContain(as.clientSecret);
  });

  it("calls the upstream with the user's own token, never the gateway token", async () => {
    const client = await connect(ALICE);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("gh_whoami");
    expect(text(await client.callTool({ name: "gh_whoami", arguments: {} }))).toBe("github-user-alice");
    for (const headers of upstream.seenHeaders) expect(JSON.stringify(headers)).not.toContain(ALICE);
    await client.close();
    const bob = await connect(BOB);
    expect((await bob.listTools()).tools.map((t) => t.name)).not.toContain("gh_whoami");
    await bob.close();
  });

  it("refreshes after the upstream answers 401 and retries once", async () => {
    const client = await connect(ALICE);
    as.expireAccessTokens();
    expect(text(await client.callTool({ name: "gh_whoami", arguments: {} }))).toBe("github-user-alice");
    expect(as.counts.refreshes).toBe(1);
    await client.close();
  });

  it("when the refresh is refused, forgets the tokens and asks the user to connect again", async () => {
    const client = await connect(ALICE);
    as.revokeAll();
    await expect(client.callTool({ name: "gh_whoami", arguments: {} })).rejects.toThrow();
    expect(await portal.deps.db.selectFrom("mcp_oauth_tokens").selectAll().execute()).toHaveLength(0);
    const status = (await client.callTool({ name: "portal_list_servers", arguments: {} })) as CallToolResult;
    expect(JSON.stringify(status.structuredContent)).toContain("needs_connect");
    await client.close();
  });

  it("rejects a replayed or forged callback state", async () => {
    const forged = await fetch(`${portal.origin}/mcp/oauth/callback?state=forged&code=abc`);
    expect(forged.status).toBe(400);
    const unauthenticated = await fetch(`${portal.origin}/mcp/oauth/gh/connect`, { redirect: "manual" });
    expect(unauthenticated.status).toBe(401);
  });
});
