import type { Caller } from "../../core/caller.ts";
import type { SecretSource } from "../../core/deps.ts";
import type { Logger } from "../../core/logger.ts";
import { GatewayError } from "../../core/errors.ts";
import { usesOAuth, type McpServerConfig, type McpServersConfig } from "../config-schema.ts";
import { UpstreamConnection } from "./connection.ts";
import { httpTransport, sseTransport, type StdioTransportFactory, type UpstreamFetch } from "./transport-factory.ts";

/** Per-user upstream credentials (see oauth/): the portal only asks for a token and a refresh. */
export interface UserTokenProvider {
  accessToken(serverId: string, callerId: string): Promise<string | undefined>;
  /** Refresh after the upstream refused the token; false when the user must connect again. */
  refresh(serverId: string, callerId: string): Promise<boolean>;
  /** Where the user goes to connect this server (absolute or gateway-relative URL). */
  connectPath(serverId: string): string;
}

export interface UpstreamPoolOptions {
  servers: McpServersConfig;
  secrets: SecretSource;
  logger: Logger;
  stdio?: StdioTransportFactory;
  userTokens?: UserTokenProvider;
  fetch?: typeof fetch;
  /** Per-user connections idle this long are closed (shared ones stay). */
  idleUserConnectionMs?: number;
  onListChanged?: (serverId: string) => void;
}

/**
 * The upstream connections: one shared connection per server with an admin credential or
 * none (stdio processes included: one process, all users), and one per (server, user) for
 * per-user OAuth. The user's gateway token is never put on an upstream request: the fetch
 * used here builds headers from the server's own credential only.
 */
export class UpstreamPool {
  private readonly shared = new Map<string, UpstreamConnection>();
  private readonly perUser = new Map<string, UpstreamConnection>();
  private readonly fetchImpl: typeof fetch;
  private readonly idleMs: number;

  constructor(private readonly options: UpstreamPoolOptions) {
    this.fetchImpl = options.fetch ?? fetch;
    this.idleMs = options.idleUserConnectionMs ?? 30 * 60_000;
  }

  serverIds(): string[] {
    return Object.keys(this.options.servers);
  }

  config(serverId: string): McpServerConfig | undefined {
    return Object.hasOwn(this.options.servers, serverId) ? this.options.servers[serverId] : undefined;
  }

  /** Whether this user must first connect the server (per-user OAuth without a stored token). */
  async needsUserConnect(serverId: string, caller: Caller): Promise<boolean> {
    const config = this.config(serverId);
    if (!config || !usesOAuth(config)) return false;
    const tokens = this.requireTokens(serverId);
    return (await tokens.accessToken(serverId, caller.id)) === undefined;
  }

  connectPath(serverId: string): string | undefined {
    const config = this.config(serverId);
    return config && usesOAuth(config) ? this.options.userTokens?.connectPath(serverId) : undefined;
  }

  async connection(serverId: string, caller: Caller): Promise<UpstreamConnection> {
    const config = this.config(serverId);
    if (!config) throw new GatewayError("not_found", `No MCP server "${serverId}".`);
    this.sweepIdle();
    if (!usesOAuth(config)) {
      let connection = this.shared.get(serverId);
      if (!connection) {
        connection = this.create(serverId, config, this.adminFetch(serverId, config), undefined);
        this.shared.set(serverId, connection);
      }
      return connection;
    }
    const tokens = this.requireTokens(serverId);
    if ((await tokens.accessToken(serverId, caller.id)) === undefined) {
      throw new GatewayError("unauthenticated", `Connect your account to "${serverId}" first: open ${tokens.connectPath(serverId)} in a browser.`);
    }
    const key = `${serverId}\u0000${caller.id}`;
    let connection = this.perUser.get(key);
    if (!connection) {
      const fetchWithUserToken: UpstreamFetch = async (url, init) => {
        const token = await tokens.accessToken(serverId, caller.id);
        const headers = new Headers(init?.headers);
        if (token) headers.set("authorization", `Bearer ${token}`);
        return this.fetchImpl(url, { ...init, headers });
      };
      connection = this.create(serverId, config, fetchWithUserToken, () => tokens.refresh(serverId, caller.id));
      this.perUser.set(key, connection);
    }
    return connection;
  }

  async close(): Promise<void> {
    const all = [...this.shared.values(), ...this.perUser.values()];
    this.shared.clear();
    this.perUser.clear();
    await Promise.all(all.map((connection) => connection.close()));
  }

  private create(serverId: string, config: McpServerConfig, upstreamFetch: UpstreamFetch, onUnauthorized: (() => Promise<boolean>) | undefined): UpstreamConnection {
    return new UpstreamConnection({
      serverId,
      config,
      logger: this.options.logger,
      ...(onUnauthorized ? { onUnauthorized } : {}),
      onListChanged: () => this.options.onListChanged?.(serverId),
      makeTransport: (kind) => {
        if (kind === "http") return httpTransport(config, upstreamFetch);
        if (kind === "sse") return sseTransport(config, upstreamFetch);
        if (!this.options.stdio) throw new GatewayError("not_configured", `MCP server "${serverId}" is a stdio server, which this runtime cannot spawn.`);
        return this.options.stdio(serverId, config, this.stdioEnv(serverId, config));
      },
    });
  }

  /** Admin credential (or none): resolved from the secrets at request time, so a rotated secret applies at once. */
  private adminFetch(serverId: string, config: McpServerConfig): UpstreamFetch {
    return async (url, init) => {
      const headers = new Headers(init?.headers);
      const auth = config.auth;
      if (auth !== undefined && !usesOAuth(config)) {
        const ref = typeof auth === "string" ? { secret: auth, header: "authorization", scheme: "Bearer" } : adminRef(auth);
        const value = this.options.secrets.get(ref.secret);
        if (!value) throw new GatewayError("not_configured", `MCP server "${serverId}" needs the secret ${ref.secret}, which is not set.`);
        headers.set(ref.header, ref.scheme ? `${ref.scheme} ${value}` : value);
      }
      return this.fetchImpl(url, { ...init, headers });
    };
  }

  private stdioEnv(serverId: string, config: McpServerConfig): Record<string, string> {
    const env: Record<string, string> = {};
    for (const name of config.env) {
      const value = this.options.secrets.get(name);
      if (value === undefined) throw new GatewayError("not_configured", `MCP server "${serverId}" needs ${name}, which is not set.`);
      env[name] = value;
    }
    return env;
  }

  private requireTokens(serverId: string): UserTokenProvider {
    if (!this.options.userTokens) throw new GatewayError("not_configured", `MCP server "${serverId}" uses per-user OAuth, but no token store is configured.`);
    return this.options.userTokens;
  }

  private sweepIdle(): void {
    const cutoff = Date.now() - this.idleMs;
    for (const [key, connection] of this.perUser) {
      if (connection.lastUsed !== 0 && connection.lastUsed < cutoff) {
        this.perUser.delete(key);
        void connection.close();
      }
    }
  }
}

function adminRef(auth: Exclude<McpServerConfig["auth"], string | undefined>): { secret: string; header: string; scheme: string } {
  if ("oauth" in auth) throw new Error("not an admin credential");
  return auth;
}
