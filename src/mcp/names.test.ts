import { describe, expect, it } from "vitest";
import { namespaced, namespacedUri, splitNamespaced, splitNamespacedUri } from "./names.ts";
import { mcpServersSchema } from "../config/mcp-schema.ts";
import { allowAllPolicy, groupAllowListPolicy, serverAllowed, toolAllowed, type McpAccessPolicy } from "./policy.ts";
import type { Caller } from "../core/caller.ts";

const caller = (groups: string[]): Caller => ({ id: "u1", email: undefined, groups, team: undefined, tokenId: undefined });

describe("namespacing", () => {
  it("splits at the first underscore so upstream names keep theirs", () => {
    expect(namespaced("tickets", "create_ticket")).toBe("tickets_create_ticket");
    expect(splitNamespaced("tickets_create_ticket")).toEqual({ serverId: "tickets", name: "create_ticket" });
    expect(splitNamespaced("noprefix")).toBeUndefined();
    expect(splitNamespaced("_x")).toBeUndefined();
    expect(splitNamespaced("x_")).toBeUndefined();
  });

  it("round-trips resource URIs and templates", () => {
    const uri = namespacedUri("docs", "file:///a/{path}");
    expect(uri).toBe("gatehouse-mcp://docs/file:///a/{path}");
    expect(splitNamespacedUri(uri)).toEqual({ serverId: "docs", uri: "file:///a/{path}" });
    expect(splitNamespacedUri("test://static-text")).toBeUndefined();
  });
});

describe("server config", () => {
  it("rejects ids with underscores, reserved ids, and incomplete servers with a clear message", () => {
    const bad = mcpServersSchema.safeParse({ my_server: { type: "http", url: "https://x" } });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toContain("no '_'");
    expect(mcpServersSchema.safeParse({ portal: { type: "http", url: "https://x" } }).success).toBe(false);
    const noUrl = mcpServersSchema.safeParse({ a: { type: "http" } });
    expect(JSON.stringify(noUrl.error?.issues)).toContain("needs `url`");
    const stdioOauth = mcpServersSchema.safeParse({ a: { type: "stdio", command: "x", auth: { oauth: { authorizationUrl: "https://a", tokenUrl: "https://t", clientId: "c" } } } });
    expect(stdioOauth.success).toBe(false);
    const ok = mcpServersSchema.parse({ "docs-2": { type: "stdio", command: "node", env: ["DOCS_KEY"] } });
    expect(ok["docs-2"]).toMatchObject({ args: [], env: ["DOCS_KEY"], timeoutMs: 60_000, audit: { arguments: false, results: false } });
  });
});

describe("access policy", () => {
  it("allow-all by default", () => {
    expect(serverAllowed(allowAllPolicy, caller([]), "x")).toBe(true);
  });

  it("group allow-lists union across groups; '*' means all", () => {
    const policy = groupAllowListPolicy({ eng: ["tickets", "wiki"], ops: ["pager"], admins: ["*"] });
    expect(serverAllowed(policy, caller(["eng", "ops"]), "pager")).toBe(true);
    expect(serverAllowed(policy, caller(["eng"]), "pager")).toBe(false);
    expect(serverAllowed(policy, caller(["admins"]), "anything")).toBe(true);
    expect(serverAllowed(policy, caller([]), "tickets")).toBe(false);
  });

  it("per-tool allow-lists narrow a server", () => {
    const policy: McpAccessPolicy = { allowedServers: () => "all", allowedTools: (_c, server) => (server === "tickets" ? new Set(["search"]) : "all") };
    expect(toolAllowed(policy, caller([]), "tickets", "search")).toBe(true);
    expect(toolAllowed(policy, caller([]), "tickets", "delete")).toBe(false);
    expect(toolAllowed(policy, caller([]), "wiki", "delete")).toBe(true);
  });
});
