import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  type CallToolResult,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import type { Caller } from "../core/caller.ts";
import type { CodeExecutor, SandboxLimits } from "../sandbox/index.ts";
import type { PortalCatalog } from "./catalog.ts";
import { codeModeTools, EXECUTE_TOOL, runExecute, runSearch, SEARCH_TOOL } from "./codemode/tools.ts";

export const LIST_SERVERS_TOOL = "portal_list_servers";

export type PortalMode = "catalogue" | "codemode";

export interface PortalServerOptions {
  caller: Caller;
  mode: PortalMode;
  catalog: PortalCatalog;
  executor: CodeExecutor | undefined;
  sandboxLimits: Partial<SandboxLimits>;
  sessionId: () => string | undefined;
}

const listServersTool: Tool = {
  name: LIST_SERVERS_TOOL,
  description: "List the MCP servers behind this portal that you may use, their status, tool counts, and where to connect your account for servers that need it.",
  inputSchema: { type: "object", properties: {} },
  annotations: { readOnlyHint: true },
};

/**
 * The MCP server one portal session talks to: the SDK's Server with handlers that answer from
 * the caller's filtered view of all upstreams (or, in Code Mode, with the two Code Mode tools).
 */
export function createPortalServer(options: PortalServerOptions): Server {
  const { caller, catalog } = options;
  const server = new Server(
    { name: "gatehouse-mcp-portal", version: "0.1.0", title: "Gatehouse MCP portal" },
    {
      capabilities: { tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true }, completions: {}, logging: {} },
      instructions:
        options.mode === "codemode"
          ? "Code Mode: find tools with codemode_search, then call them from JavaScript with codemode_execute."
          : "Tools from several internal MCP servers, named {server}_{tool}. portal_list_servers shows the servers and their status.",
    },
  );

  server.setRequestHandler(ListToolsRequestSchema, async () => {
    if (options.mode === "codemode") return { tools: codeModeTools() };
    const tools = await catalog.tools(caller);
    return { tools: [...tools.map((t) => t.tool), listServersTool] };
  });

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const { name, arguments: args } = request.params;
    if (name === LIST_SERVERS_TOOL) {
      const servers = await catalog.serverStatus(caller);
      return { content: [{ type: "text", text: JSON.stringify(servers, null, 2) }], structuredContent: { servers } };
    }
    if (options.mode === "codemode") {
      if (name === SEARCH_TOOL) return runSearch(catalog, caller, args);
      if (name === EXECUTE_TOOL) {
        if (!options.executor) throw new McpError(ErrorCode.InternalError, "Code Mode has no sandbox in this runtime.");
        return runExecute(catalog, options.executor, caller, options.sessionId(), args, options.sandboxLimits, extra.signal);
      }
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}. In Code Mode call tools from ${EXECUTE_TOOL}.`);
    }
    const progressToken = request.params._meta?.progressToken;
    return catalog.callTool(caller, name, args, {
      sessionId: options.sessionId(),
      via: "direct",
      signal: extra.signal,
      ...(progressToken !== undefined
        ? {
            onProgress: (progress) => {
              void extra.sendNotification({ method: "notifications/progress", params: { progressToken, ...progress } });
            },
          }
        : {}),
    });
  });

  server.setRequestHandler(ListPromptsRequestSchema, async () => ({ prompts: await catalog.prompts(caller) }));
  server.setRequestHandler(GetPromptRequestSchema, async (request) => catalog.getPrompt(caller, request.params.name, request.params.arguments));
  server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: await catalog.resources(caller) }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({ resourceTemplates: await catalog.resourceTemplates(caller) }));
  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => catalog.readResource(caller, request.params.uri, { sessionId: options.sessionId(), signal: extra.signal }));
  server.setRequestHandler(CompleteRequestSchema, async (request) => catalog.complete(caller, request.params));
  // The portal emits no log messages of its own and upstream logs are not relayed (see docs/mcp.md),
  // so the level is accepted and has nothing to filter.
  server.setRequestHandler(SetLevelRequestSchema, async () => ({}));
  return server;
}
