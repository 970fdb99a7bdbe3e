import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { StdioTransportFactory } from "../../../mcp/index.ts";

/**
 * Spawns a stdio MCP server for the portal. The child gets a minimal environment (PATH,
 * HOME… from the SDK's safe list) plus only the secrets its config names, never the
 * gateway's whole environment. The portal spawns each server once and shares it; when the
 * process dies the transport closes and the next use respawns it.
 */
export const spawnStdioServer: StdioTransportFactory = (_serverId, config, env) => {
  if (!config.command) throw new Error("A stdio MCP server needs a command.");
  return new StdioClientTransport({
    command: config.command,
    args: config.args,
    env: { ...getDefaultEnvironment(), ...env },
    stderr: "ignore",
  });
};
