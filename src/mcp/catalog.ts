import { ErrorCode, McpError, type CallToolResult, type CompleteRequest, type CompleteResult, type GetPromptResult, type Prompt, type ReadResourceResult, type Resource, type ResourceTemplate, type Tool } from "@modelcontextprotocol/sdk/types.js";
import type { Caller } from "../core/caller.ts";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import { describeError } from "../core/app.ts";
import { GatewayError } from "../core/errors.ts";
import type { AuditLog, AuditOutcome } from "./audit.ts";
import { namespaced, namespacedUri, splitNamespaced, splitNamespacedUri } from "./names.ts";
import { serverAllowed, toolAllowed, type McpAccessPolicy } from "./policy.ts";
import type { UpstreamPool } from "./upstream/pool.ts";

export interface CatalogTool {
  serverId: string;
  /** Upstream name. */
  upstreamName: string;
  /** `{server}_{tool}`: what the client sees. */
  name: string;
  tool: Tool;
}

export interface CallContext {
  sessionId: string | undefined;
  via: "direct" | "codemode";
  onProgress?: (progress: { progress: number; total?: number; message?: string }) => void;
  signal?: AbortSignal;
}

export interface ServerStatus {
  id: string;
  type: string;
  description: string | undefined;
  status: "ok" | "needs_connect" | "error";
  tools: number;
  connectPath?: string;
  error?: string;
}

/**
 * The per-caller view of all upstreams: namespaced lists filtered by the access policy,
 * and calls routed back to the right upstream with the policy checked again and every
 * tool call audited. A server that fails to list is left out (and shown as "error" by
 * portal_list_servers) rather than failing the whole list.
 */
export class PortalCatalog {
  constructor(
    private readonly pool: UpstreamPool,
    private readonly policy: McpAccessPolicy,
    private readonly audit: AuditLog,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  visibleServers(caller: Caller): string[] {
    return this.pool.serverIds().filter((id) => serverAllowed(this.policy, caller, id));
  }

  async tools(caller: Caller): Promise<CatalogTool[]> {
    const perServer = await this.eachServer(caller, async (serverId) => {
      const connection = await this.pool.connection(serverId, caller);
      const configured = this.pool.config(serverId)?.tools;
      return (await connection.listTools())
        .filter((tool) => (!configured || configured.includes(tool.name)) && toolAllowed(this.policy, caller, serverId, tool.name))
        .map((tool) => ({ serverId, upstreamName: tool.name, name: namespaced(serverId, tool.name), tool: { ...tool, name: namespaced(serverId, tool.name) } }));
    });
    return perServer.flat();
  }

  async serverStatus(caller: Caller): Promise<ServerStatus[]> {
    return Promise.all(
      this.visibleServers(caller).map(async (id): Promise<ServerStatus> => {
        const config = this.pool.config(id);
        const base = { id, type: config?.type ?? "unknown", description: config?.description };
        if (await this.pool.needsUserConnect(id, caller)) return { ...base, status: "needs_connect", tools: 0, connectPath: this.pool.connectPath(id) ?? "" };
        try {
          const tools = await (await this.pool.connection(id, caller)).listTools();
          return { ...base, status: "ok", tools: tools.length };
        } catch (err) {
          return { ...base, status: "error", tools: 0, error: publicError(err) };
        }
      }),
    );
  }

  async callTool(caller: Caller, name: string, args: Record<string, unknown> | undefined, context: CallContext): Promise<CallToolResult> {
    const started = this.clock.monotonic();
    const ts = this.clock.now();
    const split = splitNamespaced(name);
    const config = split ? this.pool.config(split.serverId) : undefined;
    const allowed = split !== undefined && config !== undefined && (!config.tools || config.tools.includes(split.name)) && toolAllowed(this.policy, caller, split.serverId, split.name);
    const record = (outcome: AuditOutcome, error: string | null, result: unknown): void =>
      this.audit.record({
        id: crypto.randomUUID(),
        ts,
        callerId: caller.id,
        team: caller.team ?? null,
        sessionId: context.sessionId ?? null,
        serverId: split?.serverId ?? "",
        tool: split?.name ?? name,
        via: context.via,
        outcome,
        durationMs: this.clock.monotonic() - started,
        error,
        argumentsJson: config?.audit.arguments && args !== undefined ? JSON.stringify(args) : null,
        resultJson: config?.audit.results && result !== undefined ? JSON.stringify(result) : null,
      });
    if (!split || !config || !allowed) {
      // Same answer as for a tool that does not exist: the caller learns nothing about hidden tools.
      record("denied", "not visible to caller", undefined);
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    }
    try {
      const connection = await this.pool.connection(split.serverId, caller);
      const result = (await connection.run(
        (client) =>
          client.callTool({ name: split.name, ...(args ? { arguments: args } : {}) }, undefined, {
            ...connection.requestOptions(),
            ...(context.onProgress ? { onprogress: context.onProgress, resetTimeoutOnProgress: true } : {}),
            ...(context.signal ? { signal: context.signal } : {}),
          }),
        false,
      )) as CallToolResult;
      record(result.isError ? "tool_error" : "ok", null, result);
      return result;
    } catch (err) {
      const timeout = err instanceof McpError && err.code === ErrorCode.RequestTimeout;
      record(timeout ? "timeout" : "upstream_error", publicError(err), undefined);
      this.logger.warn({ server: split.serverId, tool: split.name, err: describeError(err) }, "mcp tool call failed");
      if (err instanceof GatewayError) throw new McpError(ErrorCode.InvalidRequest, err.message);
      if (err instanceof McpError) throw err;
      throw new McpError(ErrorCode.InternalError, `Upstream "${split.serverId}" failed: ${publicError(err)}`);
    }
  }

  async prompts(caller: Caller): Promise<Prompt[]> {
    const perServer = await this.eachServer(caller, async (serverId) => {
      const prompts = await (await this.pool.connection(serverId, caller)).listPrompts();
      return prompts.map((prompt) => ({ ...prompt, name: namespaced(serverId, prompt.name) }));
    });
    return perServer.flat();
  }

  async getPrompt(caller: Caller, name: string, args: Record<string, string> | undefined): Promise<GetPromptResult> {
    const split = splitNamespaced(name);
    if (!split || !this.pool.config(split.serverId) || !serverAllowed(this.policy, caller, split.serverId)) throw new McpError(ErrorCode.InvalidParams, `Unknown prompt: ${name}`);
    const connection = await this.pool.connection(split.serverId, caller);
    return (await connection.run((client) => client.getPrompt({ name: split.name, ...(args ? { arguments: args } : {}) }, connection.requestOptions()), true)) as GetPromptResult;
  }

  async resources(caller: Caller): Promise<Resource[]> {
    const perServer = await this.eachServer(caller, async (serverId) => {
      const resources = await (await this.pool.connection(serverId, caller)).listResources();
      return resources.map((resource) => ({ ...resource, uri: namespacedUri(serverId, resource.uri), name: namespaced(serverId, resource.name) }));
    });
    return perServer.flat();
  }

  async resourceTemplates(caller: Caller): Promise<ResourceTemplate[]> {
    const perServer = await this.eachServer(caller, async (serverId) => {
      const templates = await (await this.pool.connection(serverId, caller)).listResourceTemplates();
      return templates.map((template) => ({ ...template, uriTemplate: namespacedUri(serverId, template.uriTemplate), name: namespaced(serverId, template.name) }));
    });
    return perServer.flat();
  }

  async readResource(caller: Caller, uri: string): Promise<ReadResourceResult> {
    const split = splitNamespacedUri(uri);
    if (!split || !this.pool.config(split.serverId) || !serverAllowed(this.policy, caller, split.serverId)) throw new McpError(ErrorCode.InvalidParams, `Unknown resource: ${uri}`);
    const connection = await this.pool.connection(split.serverId, caller);
    const result = (await connection.run((client) => client.readResource({ uri: split.uri }, connection.requestOptions()), true)) as ReadResourceResult;
    return { ...result, contents: result.contents.map((content) => ({ ...content, uri: namespacedUri(split.serverId, content.uri) })) };
  }

  /** Argument completion for a namespaced prompt or resource template, answered by its upstream. */
  async complete(caller: Caller, params: CompleteRequest["params"]): Promise<CompleteResult> {
    const empty: CompleteResult = { completion: { values: [], hasMore: false } };
    const ref = params.ref;
    const split = ref.type === "ref/prompt" ? splitNamespaced(ref.name) : splitNamespacedUri(ref.uri);
    if (!split || !this.pool.config(split.serverId) || !serverAllowed(this.policy, caller, split.serverId)) return empty;
    const connection = await this.pool.connection(split.serverId, caller);
    const upstreamRef = ref.type === "ref/prompt" ? { type: "ref/prompt" as const, name: "name" in split ? split.name : "" } : { type: "ref/resource" as const, uri: "uri" in split ? split.uri : "" };
    return connection.run(async (client) => {
      if (!client.getServerCapabilities()?.completions) return empty;
      return (await client.complete({ ...params, ref: upstreamRef }, connection.requestOptions())) as CompleteResult;
    }, true);
  }

  private async eachServer<T>(caller: Caller, load: (serverId: string) => Promise<T[]>): Promise<T[][]> {
    const servers = this.visibleServers(caller);
    const results = await Promise.all(
      servers.map(async (serverId) => {
        if (await this.pool.needsUserConnect(serverId, caller)) return [];
        try {
          return await load(serverId);
        } catch (err) {
          this.logger.warn({ server: serverId, err: describeError(err) }, "mcp upstream list failed; leaving it out");
          return [];
        }
      }),
    );
    return results;
  }
}

/** An error description safe to show a user or store: class and code, never an upstream body. */
export function publicError(err: unknown): string {
  if (err instanceof GatewayError) return err.message;
  if (err instanceof McpError) return `MCP error ${err.code}`;
  if (err instanceof Error) return "code" in err && typeof err.code === "number" ? `${err.name} (HTTP ${err.code})` : err.name;
  return "unknown error";
}
