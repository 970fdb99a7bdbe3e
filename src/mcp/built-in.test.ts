import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../core/logger.ts";
import { builtInTransports, withBuiltIns, type BuiltInMcpServer } from "./built-in.ts";
import { mcpServersSchema, type McpServerConfig, type McpServersConfig } from "../config/mcp-schema.ts";

function entry(servers: McpServersConfig, id: string): McpServerConfig {
  const config = servers[id];
  if (!config) throw new Error(`no server ${id}`);
  return config;
}

const builtIn: BuiltInMcpServer = { description: "catalog", connect: () => InMemoryTransport.createLinkedPair()[0] };

describe("built-in MCP servers", () => {
  it("join the configured servers, and a configured server of the same id wins", () => {
    const configured = mcpServersSchema.parse({ knowledge: { type: "http", url: "https://mcp.example/knowledge" }, wiki: { type: "http", url: "https://mcp.example/wiki" } });
    expect(withBuiltIns(configured, { knowledge: builtIn }, silentLogger)["knowledge"]).toMatchObject({ type: "http", url: "https://mcp.example/knowledge" });
    const joined = withBuiltIns(mcpServersSchema.parse({}), { knowledge: builtIn }, silentLogger);
    expect(joined["knowledge"]).toMatchObject({ type: "stdio", scope: "shared", description: "catalog", audit: { arguments: false, results: false } });
  });

  it("open in-process only for a built-in entry; other stdio servers go to the runtime's factory or are refused", () => {
    const servers = withBuiltIns(mcpServersSchema.parse({ local: { type: "stdio", command: "npx" } }), { knowledge: builtIn }, silentLogger);
    const spawned: string[] = [];
    const factory = builtInTransports({ knowledge: builtIn }, (id) => {
      spawned.push(id);
      return InMemoryTransport.createLinkedPair()[0];
    });
    factory("knowledge", entry(servers, "knowledge"), {});
    factory("local", entry(servers, "local"), {});
    expect(spawned).toEqual(["local"]);
    // A configured stdio server named like a built-in is spawned, never swapped for the built-in.
    const configuredLookalike = mcpServersSchema.parse({ knowledge: { type: "stdio", command: "./my-catalog" } });
    factory("knowledge", entry(withBuiltIns(configuredLookalike, { knowledge: builtIn }, silentLogger), "knowledge"), {});
    expect(spawned).toEqual(["local", "knowledge"]);
    expect(() => builtInTransports({ knowledge: builtIn }, undefined)("local", entry(servers, "local"), {})).toThrow(/cannot spawn/);
  });
});
