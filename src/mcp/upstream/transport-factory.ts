import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import type { McpServerConfig } from "../../config/mcp-schema.ts";

/**
 * Builds the transport towards one upstream. HTTP kinds live here (Web fetch only); stdio
 * needs child processes, so the Node adapter hands in `stdio` (adapters/node/mcp).
 */
export interface StdioTransportFactory {
  (serverId: string, config: McpServerConfig, env: Record<string, string>): Transport;
}

/** Adds the upstream credential to every request; the client's own token never gets here. */
export type UpstreamFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

export function httpTransport(config: McpServerConfig, fetchWithAuth: UpstreamFetch): Transport {
  return new StreamableHTTPClientTransport(new URL(requireUrl(config)), { fetch: fetchWithAuth });
}

export function sseTransport(config: McpServerConfig, fetchWithAuth: UpstreamFetch): Transport {
  return new SSEClientTransport(new URL(requireUrl(config)), { fetch: fetchWithAuth, eventSourceInit: { fetch: fetchWithAuth } });
}

function requireUrl(config: McpServerConfig): string {
  if (!config.url) throw new Error("An http or sse MCP server needs a url.");
  return config.url;
}
