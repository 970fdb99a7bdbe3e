import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ErrorCode, McpError, PromptListChangedNotificationSchema, ResourceListChangedNotificationSchema, ToolListChangedNotificationSchema, type Prompt, type Resource, type ResourceTemplate, type Tool } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../../core/logger.ts";
import { describeError } from "../../core/app.ts";
import { GatewayError } from "../../core/errors.ts";
import type { McpServerConfig } from "../../config/mcp-schema.ts";
import { isTimeout } from "./errors.ts";
import type { ServerHealth } from "./health.ts";
import { sharedSchemaValidator } from "./schema-validator.ts";

export type TransportKind = "http" | "sse" | "stdio";

export interface UpstreamConnectionOptions {
  serverId: string;
  config: McpServerConfig;
  makeTransport(kind: TransportKind): Transport;
  /** The upstream answered 401: refresh the credential; true means "retry once". */
  onUnauthorized?: () => Promise<boolean>;
  /** The upstream said its tools, prompts or resources changed. */
  onListChanged?: () => void;
  /** The server's breaker, shared by every connection to it. */
  health: ServerHealth;
  logger: Logger;
}

export interface RunOptions {
  /** Safe to send twice: retried once on a fresh connection after any connection loss. */
  idempotent: boolean;
  /** The caller's cancel: its rejection says nothing about the upstream's health. */
  signal?: AbortSignal;
  /**
   * A tool call: its own timeout is the tool being slow (any caller can ask for a slow
   * operation), not the server being down, so it does not open the breaker for everyone.
   * A hung server is still caught: its connect, lists and pings time out.
   */
  toolCall?: boolean;
}

/** The request itself timed out after the session was up (not the connect). */
class OperationTimeout extends Error {
  constructor(readonly original: unknown) {
    super("operation timed out");
  }
}

/**
 * One MCP client session towards one upstream: shared by every caller or owned by one
 * (see the pool's session scope). It connects lazily, reconnects (respawns a stdio process)
 * after the transport closed, re-initialises transparently when an upstream refuses its
 * session id (404, or 400 with a session error as server-everything answers after a
 * restart), and caches list results until the upstream says they changed. Every request
 * passes the server's breaker first and reports its outcome to it.
 */
export class UpstreamConnection {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private kind: TransportKind;
  private cache = new Map<string, Promise<unknown>>();
  /** When each cached list was loaded (ms since epoch). */
  private loadedAt = new Map<string, number>();
  /** Times a fresh MCP session was opened after the first (restarts, re-initialisations). */
  reconnects = 0;
  private opened = 0;
  lastUsed = 0;
  /** Requests on this connection now: an idle per-user connection (0) may be evicted. */
  inFlight = 0;
  private closed = false;

  constructor(private readonly options: UpstreamConnectionOptions) {
    this.kind = options.config.type;
  }

  get serverId(): string {
    return this.options.serverId;
  }

  async listTools(): Promise<Tool[]> {
    return this.cached("tools", async (client) => {
      const tools: Tool[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : {}, this.requestOptions());
        tools.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor);
      return tools;
    });
  }

  async listPrompts(): Promise<Prompt[]> {
    return this.cached("prompts", async (client) => {
      if (!client.getServerCapabilities()?.prompts) return [];
      const prompts: Prompt[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listPrompts(cursor ? { cursor } : {}, this.requestOptions());
        prompts.push(...page.prompts);
        cursor = page.nextCursor;
      } while (cursor);
      return prompts;
    });
  }

  async listResources(): Promise<Resource[]> {
    return this.cached("resources", async (client) => {
      if (!client.getServerCapabilities()?.resources) return [];
      const resources: Resource[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listResources(cursor ? { cursor } : {}, this.requestOptions());
        resources.push(...page.resources);
        cursor = page.nextCursor;
      } while (cursor);
      return resources;
    });
  }

  async listResourceTemplates(): Promise<ResourceTemplate[]> {
    return this.cached("templates", async (client) => {
      if (!client.getServerCapabilities()?.resources) return [];
      const templates: ResourceTemplate[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listResourceTemplates(cursor ? { cursor } : {}, this.requestOptions());
        templates.push(...page.resourceTemplates);
        cursor = page.nextCursor;
      } while (cursor);
      return templates;
    });
  }

  /** A live round trip (MCP ping): for status, which must not answer from a cache. */
  async ping(): Promise<void> {
    await this.run(async (client) => client.ping(this.requestOptions()), { idempotent: true });
  }

  /** The upstream's capabilities from initialize (connects first). */
  async capabilities(): Promise<ReturnType<Client["getServerCapabilities"]>> {
    return this.run(async (client) => client.getServerCapabilities(), { idempotent: true });
  }

  /**
   * Run one request. Idempotent requests are retried once on a fresh connection after any
   * connection loss; others only when the upstream provably did not process them (its
   * session id refused, 401 before a refreshed credential). The breaker is asked first: an
   * upstream it holds open is refused here without a request.
   */
  async run<T>(operation: (client: Client) => Promise<T>, options: RunOptions): Promise<T> {
    if (this.closed) throw new GatewayError("upstream_unavailable", `The connection to MCP server "${this.serverId}" was closed (its config changed); try again.`);
    const health = this.options.health;
    if (!health.admit()) throw new GatewayError("upstream_unavailable", health.refusal(this.serverId));
    this.lastUsed = Date.now();
    this.inFlight += 1;
    try {
      const result = await this.attempt(operation, options);
      health.succeeded();
      return result;
    } catch (caught) {
      const err = caught instanceof OperationTimeout ? caught.original : caught;
      if (options.signal?.aborted) health.released();
      else if (answeredByUpstream(err)) health.succeeded();
      else if (caught instanceof OperationTimeout) health.released();
      else health.failed(err, isTimeout(err) ? "timeout" : "error");
      throw err;
    } finally {
      this.inFlight -= 1;
      this.lastUsed = Date.now();
    }
  }

  private async attempt<T>(operation: (client: Client) => Promise<T>, options: RunOptions): Promise<T> {
    try {
      return await this.operate(operation, options);
    } catch (err) {
      const retry = await this.shouldRetry(err, options.idempotent);
      if (!retry) throw err;
      this.options.logger.info({ server: this.serverId, reason: retry }, "mcp upstream: reconnecting and retrying");
      await this.reset();
      return this.operate(operation, options);
    }
  }

  /** Connect, then run; a tool call's own timeout is marked so the breaker can tell it from a connect timeout. */
  private async operate<T>(operation: (client: Client) => Promise<T>, options: RunOptions): Promise<T> {
    const client = await this.connect();
    try {
      return await operation(client);
    } catch (err) {
      throw options.toolCall && isTimeout(err) ? new OperationTimeout(err) : err;
    }
  }

  requestOptions(): { timeout: number } {
    return { timeout: this.options.config.timeoutMs };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.reset();
  }

  private async shouldRetry(err: unknown, idempotent: boolean): Promise<string | undefined> {
    if (err instanceof OperationTimeout) return undefined;
    const sessionError = invalidSession(err);
    if (sessionError) return sessionError;
    // Never wait for a hung upstream twice: a timeout is not retried (the breaker takes over).
    if (isTimeout(err)) return undefined;
    if (err instanceof StreamableHTTPError && err.code === 401 && this.options.onUnauthorized) {
      return (await this.options.onUnauthorized()) ? "credential refreshed after 401" : undefined;
    }
    if (idempotent && err instanceof McpError && err.code === ErrorCode.ConnectionClosed) return "connection closed";
    if (idempotent && !this.client) return "transport closed";
    return undefined;
  }

  /**
   * The cached tool list, loaded again first when older than `maxAgeMs`: a name missing from
   * an old list may be a tool added without a list_changed notification.
   */
  async freshTools(maxAgeMs: number): Promise<Tool[]> {
    if (Date.now() - (this.loadedAt.get("tools") ?? 0) > maxAgeMs) this.cache.delete("tools");
    return this.listTools();
  }

  private async cached<T>(key: string, load: (client: Client) => Promise<T>): Promise<T> {
    const hit = this.cache.get(key) as Promise<T> | undefined;
    if (hit) return hit;
    const loading = this.run(load, { idempotent: true });
    this.cache.set(key, loading);
    this.loadedAt.set(key, Date.now());
    loading.catch(() => this.cache.delete(key));
    return loading;
  }

  private async connect(): Promise<Client> {
    if (this.client) return this.client;
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<Client> {
    try {
      return await this.openWith(this.kind);
    } catch (err) {
      // Streamable HTTP first, then the legacy HTTP+SSE transport (as the spec's backwards
      // compatibility section describes: only when the POST is answered with a 4xx), remembered
      // for later reconnects. A timeout or a refused connection is not retried over SSE: that
      // would wait for a hung upstream twice.
      if (this.kind === "http" && err instanceof StreamableHTTPError && err.code !== undefined && err.code >= 400 && err.code < 500 && err.code !== 401 && err.code !== 403) {
        this.options.logger.info({ server: this.serverId, err: describeError(err) }, "mcp upstream: Streamable HTTP failed, trying SSE");
        const client = await this.openWith("sse");
        this.kind = "sse";
        return client;
      }
      throw err;
    }
  }

  private async openWith(kind: TransportKind): Promise<Client> {
    const client = new Client({ name: "gatehouse-mcp-portal", version: "0.1.0" }, { capabilities: {}, jsonSchemaValidator: sharedSchemaValidator });
    const invalidate = (): void => {
      this.cache.clear();
      this.options.onListChanged?.();
    };
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => invalidate());
    client.setNotificationHandler(PromptListChangedNotificationSchema, async () => invalidate());
    client.setNotificationHandler(ResourceListChangedNotificationSchema, async () => invalidate());
    client.onclose = () => {
      if (this.client !== client) return;
      this.client = undefined;
      this.cache.clear();
      this.options.logger.warn({ server: this.serverId }, "mcp upstream: connection closed; will reconnect on next use");
    };
    client.onerror = (err) => this.options.logger.debug({ server: this.serverId, err: describeError(err) }, "mcp upstream: transport error");
    await client.connect(this.options.makeTransport(kind), this.requestOptions());
    if (this.opened++ > 0) this.reconnects += 1;
    this.client = client;
    return client;
  }

  private async reset(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.cache.clear();
    if (client) await client.close().catch((err: unknown) => this.options.logger.debug({ server: this.serverId, err: describeError(err) }, "mcp upstream: close failed"));
  }
}

/**
 * The upstream refused the session id, so it did not process the request and a fresh
 * session is safe: 404 (the spec's answer to an expired session), or 400 whose body names
 * the session (server-everything answers a stale id with 400 "No valid session ID").
 */
export function invalidSession(err: unknown): string | undefined {
  if (!(err instanceof StreamableHTTPError)) return undefined;
  if (err.code === 404) return "upstream session expired (404)";
  if (err.code === 400 && /session/i.test(err.message)) return "upstream refused the session id (400)";
  return undefined;
}

/** An MCP error answer (bad params, unknown tool, the tool's own failure): the upstream is up. */
function answeredByUpstream(err: unknown): boolean {
  return err instanceof McpError && err.code !== ErrorCode.RequestTimeout && err.code !== ErrorCode.ConnectionClosed;
}
