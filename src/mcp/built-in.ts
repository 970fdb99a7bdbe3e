import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { Logger } from "../core/logger.ts";
import { GatewayError } from "../core/errors.ts";
import { mcpServerSchema, type McpServersConfig } from "../config/mcp-schema.ts";
import type { StdioTransportFactory } from "./upstream/transport-factory.ts";

/**
 * A server the gateway runs in-process (the knowledge catalog). It enters the pool as an
 * ordinary upstream, so it is listed, filtered by the access policy, audited and shown in
 * Code Mode exactly like a configured one; only its transport is an in-memory pair.
 */
export interface BuiltInMcpServer {
  description: string;
  /** A fresh client transport linked to a new server session. */
  connect(): Transport;
}

/** Marks a pool entry as built-in; its "process" is `connect()`. */
const BUILT_IN_COMMAND = "gatehouse:built-in";

/** The configured servers plus the built-ins; a configured server of the same id wins (the operator said so). */
export function withBuiltIns(configured: McpServersConfig, builtIns: Readonly<Record<string, BuiltInMcpServer>>, logger: Logger): McpServersConfig {
  const servers: McpServersConfig = {};
  for (const [id, builtIn] of Object.entries(builtIns)) {
    if (Object.hasOwn(configured, id)) logger.warn({ server: id }, "mcp: a configured server uses a built-in server's id; the configured one is used");
    // Shared: a built-in keeps no per-user session state (it reads the store), so one session serves everyone.
    else servers[id] = mcpServerSchema.parse({ type: "stdio", command: BUILT_IN_COMMAND, description: builtIn.description, scope: "shared" });
  }
  return { ...servers, ...configured };
}

/** Stdio factory that opens built-ins in-process and hands every other stdio server to the runtime's factory. */
export function builtInTransports(builtIns: Readonly<Record<string, BuiltInMcpServer>>, stdio: StdioTransportFactory | undefined): StdioTransportFactory {
  return (serverId, config, env) => {
    const builtIn = Object.hasOwn(builtIns, serverId) ? builtIns[serverId] : undefined;
    if (builtIn && config.command === BUILT_IN_COMMAND) return builtIn.connect();
    if (!stdio) throw new GatewayError("not_configured", `MCP server "${serverId}" is a stdio server, which this runtime cannot spawn.`);
    return stdio(serverId, config, env);
  };
}
