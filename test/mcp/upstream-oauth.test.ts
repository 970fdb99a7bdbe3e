import { afterAll, describe, expect, it } from "vitest";
import type { Clock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { migrateToLatest } from "../../src/store/index.ts";
import { mcpServersSchema } from "../../src/config/mcp-schema.ts";
import { TokenCipher } from "../../src/mcp/oauth/cipher.ts";
import { OAuthTokenStore } from "../../src/mcp/oauth/token-store.ts";
import { PENDING_TTL_MS, UpstreamOAuth } from "../../src/mcp/oauth/upstream-oauth.ts";

/** Connect state: single use, short lived, bound to its caller and browser; refusals never reach the token endpoint. */
const db = openSqlite(":memory:");
await migrateToLatest(db);
let now = 1_000_000;
const clock: Clock = { now: () => now, monotonic: () => now };
const tokenRequests: string[] = [];
const oauth = new UpstreamOAuth({
  servers: () => mcpServersSchema.parse({ gh: { type: "http", url: "http://127.0.0.1:9/mcp", auth: { oauth: { authorizationUrl: "http://127.0.0.1:9/authorize", tokenUrl: "http://127.0.0.1:9/token", clientId: "client" } } } }),
  store: new OAuthTokenStore(db, new TokenCipher("x".repeat(40))),
  secrets: { get: () => undefined },
  clock,
  logger: silentLogger,
  fetch: async (_url, init) => {
    tokenRequests.push(String(init?.body));
    return Response.json({ access_token: "upstream-token", expires_in: 3600 });
  },
});

afterAll(async () => {
  await db.destroy();
});

describe("upstream OAuth connect state", () => {
  it("completes once, for the caller and browser key that started it", async () => {
    const started = await oauth.authorizationUrl("gh", "alice", "http://127.0.0.1/cb");
    expect(new URL(started.url).searchParams.get("state")).toBe(started.state);
    await expect(oauth.complete(started.state, "code", { browserKey: started.browserKey, callerId: undefined })).resolves.toEqual({ serverId: "gh" });
    await expect(oauth.complete(started.state, "code", { browserKey: started.browserKey, callerId: undefined })).rejects.toThrow(/Unknown or expired/);
    expect(tokenRequests).toHaveLength(1);
  });

  it("refuses another browser key, another caller, or no key, without calling the token endpoint, and spends the state", async () => {
    tokenRequests.length = 0;
    for (const proof of [
      { browserKey: "someone-elses-key", callerId: undefined },
      { browserKey: undefined, callerId: undefined },
      { browserKey: undefined, callerId: "alice" },
    ]) {
      const started = await oauth.authorizationUrl("gh", "alice", "http://127.0.0.1/cb");
      await expect(oauth.complete(started.state, "code", proof)).rejects.toMatchObject({ code: "forbidden" });
      await expect(oauth.complete(started.state, "code", { browserKey: started.browserKey, callerId: undefined })).rejects.toThrow(/Unknown or expired/);
    }
    const started = await oauth.authorizationUrl("gh", "alice", "http://127.0.0.1/cb");
    await expect(oauth.complete(started.state, "code", { browserKey: started.browserKey, callerId: "bob" })).rejects.toMatchObject({ code: "forbidden" });
    expect(tokenRequests).toEqual([]);
  });

  it(`expires after ${PENDING_TTL_MS / 60_000} minutes`, async () => {
    const started = await oauth.authorizationUrl("gh", "alice", "http://127.0.0.1/cb");
    now += PENDING_TTL_MS + 1;
    await expect(oauth.complete(started.state, "code", { browserKey: started.browserKey, callerId: "alice" })).rejects.toThrow(/Unknown or expired/);
  });

  it("keeps only a caller's newest five unfinished connections", async () => {
    const started = [];
    for (let i = 0; i < 7; i++) started.push(await oauth.authorizationUrl("gh", "carol", "http://127.0.0.1/cb"));
    const other = await oauth.authorizationUrl("gh", "dave", "http://127.0.0.1/cb");
    await expect(oauth.complete(started[0]!.state, "c", { browserKey: started[0]!.browserKey, callerId: undefined })).rejects.toThrow(/Unknown or expired/);
    await expect(oauth.complete(started[1]!.state, "c", { browserKey: started[1]!.browserKey, callerId: undefined })).rejects.toThrow(/Unknown or expired/);
    await expect(oauth.complete(started[2]!.state, "c", { browserKey: started[2]!.browserKey, callerId: undefined })).resolves.toEqual({ serverId: "gh" });
    await expect(oauth.complete(other.state, "c", { browserKey: other.browserKey, callerId: undefined })).resolves.toEqual({ serverId: "gh" });
  });
});
