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

/** A browser's cookie jar, reduced to what the connect flow needs: `name=value` pairs set by the gateway. */
function cookiesFrom(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((line) => line.split(";")[0]!)
    .join("; ");
}

/** Starts a connection as `token`: the authorization URL, and the cookie the starting browser was given. */
async function startConnect(token: string): Promise<{ authorizationUrl: string; cookie: string }> {
  const start = await fetch(`${portal.origin}/mcp/oauth/gh/connect`, { headers: { authorization: `Bearer ${token}`, accept: "application/json" } });
  expect(start.status).toBe(200);
  const { authorizationUrl } = (await start.json()) as { authorizationUrl: string };
  return { authorizationUrl, cookie: cookiesFrom(start) };
}

/** The user consents at the authorization server, which redirects the browser to the gateway's callback. */
async function consent(authorizationUrl: string): Promise<string> {
  const answer = await fetch(authorizationUrl, { redirect: "manual" });
  expect(answer.status).toBe(302);
  return answer.headers.get("location")!;
}

/** What a browser does: follow the connect redirect to the authorization server and back, keeping the connect cookie. */
async function connectAccount(token: string): Promise<Response> {
  const { authorizationUrl, cookie } = await startConnect(token);
  return fetch(await consent(authorizationUrl), { headers: { cookie } });
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

  it("sets the connect cookie HttpOnly, SameSite=Lax, scoped to /mcp/oauth and short lived", async () => {
    const start = await fetch(`${portal.origin}/mcp/oauth/gh/connect`, { headers: { authorization: `Bearer ${BOB}`, accept: "application/json" } });
    const [line] = start.headers.getSetCookie();
    expect(line).toMatch(/^gatehouse_mcp_oauth_[A-Za-z0-9]{16}=[A-Za-z0-9_-]{43};/);
    expect(line).toMatch(/HttpOnly/);
    expect(line).toMatch(/SameSite=Lax/);
    expect(line).toMatch(/Path=\/mcp\/oauth/);
    expect(line).toMatch(/Max-Age=300/);
  });
});

describe("the callback is bound to the user and browser that started the connection", () => {
  async function tokenRows(): Promise<{ caller_id: string }[]> {
    return portal.deps.db.selectFrom("mcp_oauth_tokens").select(["caller_id"]).execute();
  }

  it("attacker starts connect, victim completes the callback in her browser: refused, nothing stored under either id", async () => {
    await portal.deps.db.deleteFrom("mcp_oauth_tokens").execute();
    const codesBefore = as.counts.codes;
    nextSubject = "github-user-victim";
    // Bob (the attacker) starts a connection and sends Alice the authorization link.
    const attack = await startConnect(BOB);
    // Alice's browser consents (the authorization server auto-approves a consented app) and lands on the callback without Bob's cookie.
    const callback = await consent(attack.authorizationUrl);
    const refused = await fetch(callback);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toMatch(/started by another user or in another browser/);
    expect(await tokenRows()).toEqual([]);
    expect(as.counts.codes).toBe(codesBefore); // the victim's code was never redeemed
    // The state is spent: Bob replaying the callback URL with his own cookie gets nothing either.
    const replay = await fetch(callback, { headers: { cookie: attack.cookie } });
    expect(replay.status).toBe(400);
    expect(await tokenRows()).toEqual([]);
    expect(as.counts.codes).toBe(codesBefore);
  });

  it("a callback carrying another user's gateway credentials is refused even with the right cookie", async () => {
    await portal.deps.db.deleteFrom("mcp_oauth_tokens").execute();
    const codesBefore = as.counts.codes;
    const attack = await startConnect(BOB);
    const callback = await consent(attack.authorizationUrl);
    // Alice's browser sends her own credentials (as behind an SSO proxy); even holding Bob's cookie it is not Bob.
    const refused = await fetch(callback, { headers: { cookie: attack.cookie, authorization: `Bearer ${ALICE}` } });
    expect(refused.status).toBe(403);
    expect(await tokenRows()).toEqual([]);
    expect(as.counts.codes).toBe(codesBefore);
  });

  it("invalid credentials on the callback are refused, not ignored", async () => {
    const started = await startConnect(ALICE);
    const callback = await consent(started.authorizationUrl);
    const refused = await fetch(callback, { headers: { cookie: started.cookie, authorization: "Bearer not-a-real-token-000000" } });
    expect(refused.status).toBe(401);
    // Spent as well: the right browser cannot reuse it afterwards.
    expect((await fetch(callback, { headers: { cookie: started.cookie } })).status).toBe(400);
  });

  it("the same user, same browser completes; with her own credentials on the callback too", async () => {
    await portal.deps.db.deleteFrom("mcp_oauth_tokens").execute();
    nextSubject = "github-user-alice";
    const started = await startConnect(ALICE);
    const done = await fetch(await consent(started.authorizationUrl), { headers: { cookie: started.cookie, authorization: `Bearer ${ALICE}` } });
    expect(done.status).toBe(200);
    expect(done.headers.getSetCookie().join(";")).toMatch(/Max-Age=0/); // the connect cookie is cleared
    expect(await tokenRows()).toEqual([{ caller_id: "alice" }]);
  });
});
