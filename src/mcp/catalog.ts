import {
  ErrorCode,
  McpError,
  type CallToolResult,
  type ContentBlock,
  type CompleteRequest,
  type CompleteResult,
  type GetPromptResult,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplate,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import type { Caller } from "../core/caller.ts";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import { describeError } from "../core/app.ts";
import { GatewayError } from "../core/errors.ts";
import type { AuditLog, AuditOutcome } from "./audit.ts";
import { namespaced, namespacedUri, splitNamespaced, splitNamespacedUri } from "./names.ts";
import { serverAllowed, toolAllowed, type McpAccessPolicy } from "./policy.ts";
import type { UpstreamConnection } from "./upstream/connection.ts";
import { describeUpstreamError, isTimeout } from "./upstream/errors.ts";
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
  /** ok: answered within the bound; unavailable: down, hung or failing (see `error`); needs_connect: per-user OAuth not connected. */
  status: "ok" | "needs_connect" | "unavailable";
  scope: "shared" | "per-user" | "unknown";
  tools: number;
  connectPath?: string;
  /** Why it is not ok, in words: "connection refused", "command not found", "timed out after 60000 ms", "no answer within 3000 ms"… */
  error?: string;
  /** While the breaker holds the server open: seconds until the portal tries it again. */
  retryInSeconds?: number;
}

export interface CatalogOptions {
  /** A list (tools, prompts, resources, portal_list_servers) waits at most this long for any one upstream. */
  listBoundMs: number;
}

const LATE = Symbol("late");

/**
 * The per-caller view of all upstreams: namespaced lists filtered by the access policy,
 * and calls routed back to the right upstream with the policy checked again and every
 * tool call and resource read audited. Lists answer within `listBoundMs` from the servers
 * that are up: a server that fails, is held open by its breaker, or does not answer in
 * time is left out (and shown as "unavailable" by portal_list_servers) rather than
 * failing or stalling the whole list; one that missed the bound is skipped by later lists
 * until it answers (its request runs on), so no list waits for the same hung upstream twice.
 */
export class PortalCatalog {
  constructor(
    private readonly pool: UpstreamPool,
    private readonly policy: McpAccessPolicy,
    private readonly audit: AuditLog,
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly options: CatalogOptions = { listBoundMs: 3_000 },
  ) {}

  visibleServers(caller: Caller): string[] {
    return this.pool.serverIds().filter((id) => serverAllowed(this.policy, caller, id));
  }

  async tools(caller: Caller): Promise<CatalogTool[]> {
    const perServer = await this.eachServer(caller, async (serverId) => {
      const connection = await this.pool.connection(serverId, caller);
      return this.visibleTools(caller, serverId, await connection.listTools());
    });
    return perServer.flat();
  }

  async serverStatus(caller: Caller): Promise<ServerStatus[]> {
    return Promise.all(
      this.visibleServers(caller).map(async (id): Promise<ServerStatus> => {
        const config = this.pool.config(id);
        const scope: ServerStatus["scope"] = this.pool.scope(id) ?? "unknown";
        const base = { id, type: config?.type ?? "unknown", description: config?.description, scope };
        if (await this.pool.needsUserConnect(id, caller)) return { ...base, status: "needs_connect", tools: 0, connectPath: this.pool.connectPath(id) ?? "" };
        // A live ping first: a cached tool list would show a server that went away as ok.
        const tools = await this.bounded(id, caller, async () => {
          const connection = await this.pool.connection(id, caller);
          await connection.ping();
          return connection.listTools();
        });
        const health = this.pool.health(id)?.snapshot();
        if (tools !== undefined && health?.state === "ok") return { ...base, scope: this.pool.scope(id) ?? "unknown", status: "ok", tools: this.visibleTools(caller, id, tools).length };
        const retryInSeconds = health?.retryAt !== undefined ? Math.max(0, Math.ceil((health.retryAt - Date.now()) / 1000)) : undefined;
        return { ...base, status: "unavailable", tools: 0, error: health?.reason ?? "not answering", ...(retryInSeconds !== undefined ? { retryInSeconds } : {}) };
      }),
    );
  }

  async callTool(caller: Caller, name: string, args: Record<string, unknown> | undefined, context: CallContext): Promise<CallToolResult> {
    const started = this.clock.monotonic();
    const ts = this.clock.now();
    const split = splitNamespaced(name);
    const config = split ? this.pool.config(split.serverId) : undefined;
    const serverVisible = split !== undefined && config !== undefined && serverAllowed(this.policy, caller, split.serverId);
    const allowed = serverVisible && (!config.tools || config.tools.includes(split.name)) && toolAllowed(this.policy, caller, split.serverId, split.name);
    const argsJson = args === undefined ? undefined : JSON.stringify(args);
    const record = (outcome: AuditOutcome, error: string | null, result: unknown): void =>
      this.audit.record({
        ...this.auditBase(caller, context.sessionId, ts, started),
        serverId: split?.serverId ?? "",
        tool: split?.name ?? name,
        via: context.via,
        outcome,
        error,
        argumentsJson: config?.audit.arguments && argsJson !== undefined ? argsJson : null,
        resultJson: config?.audit.results && result !== undefined ? JSON.stringify(result) : null,
      });
    // Same answer for a hidden tool and one that does not exist: the caller learns nothing
    // about hidden tools. The audit tells them apart: a server the caller may not use, or a
    // tool the policy or the server's allow-list hides, is `denied`; a name no server has is `not_found`.
    if (!split || !config) {
      record("not_found", "no such server", undefined);
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    }
    if (!allowed) {
      record("denied", "not visible to caller", undefined);
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    }
    const size = argsJson === undefined ? 0 : utf8Length(argsJson);
    if (size > config.maxArgumentBytes) {
      record("too_large", `arguments are ${size} bytes, over ${config.maxArgumentBytes}`, undefined);
      throw new McpError(ErrorCode.InvalidParams, `Arguments of ${name} are ${size} bytes; this server accepts at most ${config.maxArgumentBytes} (maxArgumentBytes in its config).`);
    }
    try {
      const connection = await this.pool.connection(split.serverId, caller);
      if (!(await this.toolExists(caller, split.serverId, split.name, connection))) {
        record("not_found", "the server has no such tool", undefined);
        throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
      }
      const result = (await connection.run(
        (client) =>
          client.callTool({ name: split.name, ...(args ? { arguments: args } : {}) }, undefined, {
            ...connection.requestOptions(),
            ...(context.onProgress ? { onprogress: context.onProgress, resetTimeoutOnProgress: true } : {}),
            ...(context.signal ? { signal: context.signal } : {}),
          }),
        { idempotent: false, toolCall: true, ...(context.signal ? { signal: context.signal } : {}) },
      )) as CallToolResult;
      const namespacedResult = namespaceContentUris(split.serverId, result);
      record(result.isError ? "tool_error" : "ok", null, namespacedResult);
      return namespacedResult;
    } catch (err) {
      if (err instanceof McpError && err.code === ErrorCode.InvalidParams && err.message.includes(`Unknown tool: ${name}`)) throw err;
      const outcome: AuditOutcome = context.signal?.aborted ? "cancelled" : isTimeout(err) ? "timeout" : err instanceof GatewayError && err.code === "upstream_unavailable" ? "unavailable" : "upstream_error";
      record(outcome, publicError(err), undefined);
      this.logger.warn({ server: split.serverId, tool: split.name, outcome, err: describeError(err) }, "mcp tool call failed");
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
    const result = await connection.run<GetPromptResult>((client) => client.getPrompt({ name: split.name, ...(args ? { arguments: args } : {}) }, connection.requestOptions()), { idempotent: true });
    return { ...result, messages: result.messages.map((message) => ({ ...message, content: namespaceBlock(split.serverId, message.content) })) };
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

  /** What every audit entry of one call shares: its id, who, when, and how long it took so far. */
  private auditBase(caller: Caller, sessionId: string | undefined, ts: number, started: number) {
    return { id: crypto.randomUUID(), ts, callerId: caller.id, team: caller.team ?? null, sessionId: sessionId ?? null, durationMs: this.clock.monotonic() - started };
  }

  /** Read a namespaced resource from its upstream; every read is audited (tool `resources/read`, the URI as its argument). */
  async readResource(caller: Caller, uri: string, context: Pick<CallContext, "sessionId" | "signal"> = { sessionId: undefined }): Promise<ReadResourceResult> {
    const started = this.clock.monotonic();
    const ts = this.clock.now();
    const split = splitNamespacedUri(uri);
    const config = split ? this.pool.config(split.serverId) : undefined;
    const record = (outcome: AuditOutcome, error: string | null): void =>
      this.audit.record({
        ...this.auditBase(caller, context.sessionId, ts, started),
        serverId: split?.serverId ?? "",
        tool: RESOURCE_READ,
        via: "direct",
        outcome,
        error,
        argumentsJson: config?.audit.arguments ? JSON.stringify({ uri: split?.uri ?? uri }) : null,
        resultJson: null,
      });
    if (!split || !config) {
      record("not_found", "no such server");
      throw new McpError(ErrorCode.InvalidParams, `Unknown resource: ${uri}`);
    }
    if (!serverAllowed(this.policy, caller, split.serverId)) {
      record("denied", "not visible to caller");
      throw new McpError(ErrorCode.InvalidParams, `Unknown resource: ${uri}`);
    }
    try {
      const connection = await this.pool.connection(split.serverId, caller);
      const result = await connection.run<ReadResourceResult>((client) => client.readResource({ uri: split.uri }, { ...connection.requestOptions(), ...(context.signal ? { signal: context.signal } : {}) }), {
        idempotent: true,
        ...(context.signal ? { signal: context.signal } : {}),
      });
      record("ok", null);
      return { ...result, contents: result.contents.map((content) => ({ ...content, uri: namespacedUri(split.serverId, content.uri) })) };
    } catch (err) {
      const outcome: AuditOutcome = context.signal?.aborted
        ? "cancelled"
        : isTimeout(err)
          ? "timeout"
          : err instanceof McpError && err.code === ErrorCode.InvalidParams
            ? "not_found"
            : err instanceof GatewayError && err.code === "upstream_unavailable"
              ? "unavailable"
              : "upstream_error";
      record(outcome, publicError(err));
      if (err instanceof GatewayError) throw new McpError(ErrorCode.InvalidRequest, err.message);
      throw err;
    }
  }

  /** Argument completion for a namespaced prompt or resource template, answered by its upstream. */
  async complete(caller: Caller, params: CompleteRequest["params"]): Promise<CompleteResult> {
    const empty: CompleteResult = { completion: { values: [], hasMore: false } };
    const ref = params.ref;
    const split = ref.type === "ref/prompt" ? splitNamespaced(ref.name) : splitNamespacedUri(ref.uri);
    if (!split || !this.pool.config(split.serverId) || !serverAllowed(this.policy, caller, split.serverId)) return empty;
    const connection = await this.pool.connection(split.serverId, caller);
    const upstreamRef = ref.type === "ref/prompt" ? { type: "ref/prompt" as const, name: "name" in split ? split.name : "" } : { type: "ref/resource" as const, uri: "uri" in split ? split.uri : "" };
    return connection.run(
      async (client) => {
        if (!client.getServerCapabilities()?.completions) return empty;
        return await client.complete({ ...params, ref: upstreamRef }, connection.requestOptions());
      },
      { idempotent: true },
    );
  }

  private visibleTools(caller: Caller, serverId: string, tools: Tool[]): CatalogTool[] {
    const configured = this.pool.config(serverId)?.tools;
    return tools
      .filter((tool) => (!configured || configured.includes(tool.name)) && toolAllowed(this.policy, caller, serverId, tool.name))
      .map((tool) => ({ serverId, upstreamName: tool.name, name: namespaced(serverId, tool.name), tool: { ...tool, name: namespaced(serverId, tool.name) } }));
  }

  /**
   * Whether the upstream lists this tool (its cached list, within the list bound). When the
   * list cannot be had in time the call goes ahead and the upstream answers for itself.
   */
  private async toolExists(caller: Caller, serverId: string, tool: string, connection: UpstreamConnection): Promise<boolean> {
    const tools = await this.bounded(serverId, caller, () => connection.listTools(), { markSlow: false });
    if (tools === undefined || tools.some((t) => t.name === tool)) return true;
    // Not in the cached list: ask again if that list is more than a few seconds old (at most
    // one upstream list per 5 s per connection, however many unknown names a caller sends).
    const fresh = await this.bounded(serverId, caller, () => connection.freshTools(5_000), { markSlow: false });
    return fresh === undefined || fresh.some((t) => t.name === tool);
  }

  /**
   * Wait for one upstream's list at most listBoundMs; undefined when it failed, was skipped
   * by the negative cache, or missed the bound (then later lists skip it until it answers).
   */
  private async bounded<T>(serverId: string, caller: Caller, load: () => Promise<T>, options: { markSlow: boolean } = { markSlow: true }): Promise<T | undefined> {
    if (this.pool.skipLists(serverId, caller)) return undefined;
    const loading = load();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<typeof LATE>((resolve) => {
      timer = setTimeout(() => resolve(LATE), this.options.listBoundMs);
    });
    try {
      const result = await Promise.race([loading, late]);
      if (result !== LATE) return result;
      if (options.markSlow) this.pool.markSlow(serverId, caller, this.options.listBoundMs, loading);
      this.logger.warn({ server: serverId, boundMs: this.options.listBoundMs }, "mcp upstream: no list answer within the bound; leaving it out");
      loading.catch((err: unknown) => this.logger.debug({ server: serverId, err: describeError(err) }, "mcp upstream: late list failed"));
      return undefined;
    } catch (err) {
      this.logger.warn({ server: serverId, err: describeError(err) }, "mcp upstream list failed; leaving it out");
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private async eachServer<T>(caller: Caller, load: (serverId: string) => Promise<T[]>): Promise<T[][]> {
    const servers = this.visibleServers(caller);
    return Promise.all(
      servers.map(async (serverId) => {
        if (await this.pool.needsUserConnect(serverId, caller)) return [];
        return (await this.bounded(serverId, caller, () => load(serverId))) ?? [];
      }),
    );
  }
}

/** Audit `tool` of a resource read. */
export const RESOURCE_READ = "resources/read";

/**
 * resource_link and embedded resource URIs in a tool result carry the server id, like
 * listed resources, so a client can read them back through the portal.
 */
export function namespaceContentUris(serverId: string, result: CallToolResult): CallToolResult {
  if (!Array.isArray(result.content)) return result;
  return { ...result, content: result.content.map((block) => namespaceBlock(serverId, block)) };
}

function namespaceBlock<B extends ContentBlock>(serverId: string, block: B): B {
  if (block.type === "resource_link") return { ...block, uri: namespacedUri(serverId, block.uri) };
  if (block.type === "resource") return { ...block, resource: { ...block.resource, uri: namespacedUri(serverId, block.resource.uri) } };
  return block;
}

/** UTF-8 size without allocating a copy of a possibly huge argument. */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 4;
      i += 1;
    } else bytes += 3;
  }
  return bytes;
}

/** An error description safe to show a user or store: the failure class in words, never an upstream body. */
export function publicError(err: unknown): string {
  return describeUpstreamError(err);
}
