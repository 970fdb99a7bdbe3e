import type { Caller } from "../../core/caller.ts";
import type { SecretSource } from "../../core/deps.ts";
import type { Logger } from "../../core/logger.ts";
import { describeError } from "../../core/app.ts";
import { GatewayError } from "../../core/errors.ts";
import { usesOAuth, type McpServerConfig, type McpServersConfig } from "../../config/mcp-schema.ts";
import { UpstreamConnection } from "./connection.ts";
import { ServerHealth, type HealthOptions } from "./health.ts";
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
  health?: HealthOptions;
  /** An upstream's lists changed: for a per-user connection `callerId` says whose (only their sessions re-list). */
  onListChanged?: (serverId: string, callerId: string | undefined) => void;
}

export type SessionScope = "shared" | "per-user";

/** One configured server: its config, breaker, resolved scope and connections. */
interface ServerEntry {
  config: McpServerConfig;
  /** The config as compared on reload: a changed entry is restarted, an equal one kept. */
  fingerprint: string;
  health: ServerHealth;
  /** Undefined until an http/sse server without `scope` has told its capabilities. */
  scope: SessionScope | undefined;
  resolving: Promise<SessionScope> | undefined;
  shared: UpstreamConnection | undefined;
  perUser: Map<string, UpstreamConnection>;
  /** Per-user lists skip this caller's connection until then (it missed the list bound: a slow spawn is one user's, not the server's). */
  slowCallers: Map<string, number>;
}

/**
 * The upstream connections, by session scope (see `scopeOf`): one shared connection per
 * server, or one per (server, caller), capped and closed when idle. The user's gateway
 * token is never put on an upstream request: the fetch used here builds headers from the
 * server's own credential (or the user's own upstream OAuth token) only.
 */
export class UpstreamPool {
  private servers = new Map<string, ServerEntry>();
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: UpstreamPoolOptions) {
    this.fetchImpl = options.fetch ?? fetch;
    for (const [id, config] of Object.entries(options.servers)) this.servers.set(id, this.entry(config));
  }

  serverIds(): string[] {
    return [...this.servers.keys()];
  }

  config(serverId: string): McpServerConfig | undefined {
    return this.servers.get(serverId)?.config;
  }

  health(serverId: string): ServerHealth | undefined {
    return this.servers.get(serverId)?.health;
  }

  /** The resolved scope, or undefined while an http/sse server has not yet said whether it has resources. */
  scope(serverId: string): SessionScope | undefined {
    return this.servers.get(serverId)?.scope;
  }

  /** Live per-user connections of a server (tests, metrics). */
  perUserCount(serverId: string): number {
    return this.servers.get(serverId)?.perUser.size ?? 0;
  }

  /**
   * A list gave up waiting for this server. A shared (or not yet resolved) server is skipped
   * by every caller's lists for the breaker's cool-down; a per-user one only by this caller's,
   * since another caller's connection (or process) is not the one that was slow.
   */
  markSlow(serverId: string, caller: Caller, boundMs: number, pending: Promise<unknown>): void {
    const entry = this.servers.get(serverId);
    if (!entry) return;
    if (entry.scope !== "per-user") {
      entry.health.markSlow(boundMs, pending);
      return;
    }
    // Skipped for this caller while the late request runs, and a little after.
    entry.slowCallers.set(caller.id, Number.POSITIVE_INFINITY);
    const settled = (): void => {
      entry.slowCallers.set(caller.id, Date.now() + boundMs);
    };
    pending.then(settled, settled);
  }

  /** Should a list skip this server for this caller now (breaker open, or recently too slow)? */
  skipLists(serverId: string, caller: Caller): boolean {
    const entry = this.servers.get(serverId);
    if (!entry) return true;
    if (entry.health.skipLists()) return true;
    const until = entry.slowCallers.get(caller.id);
    if (until === undefined) return false;
    if (Date.now() < until) return true;
    entry.slowCallers.delete(caller.id);
    return false;
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
    const entry = this.servers.get(serverId);
    if (!entry) throw new GatewayError("not_found", `No MCP server "${serverId}".`);
    const { config } = entry;
    this.sweepIdle(serverId, entry);
    const scope = entry.scope ?? (await this.resolveScope(serverId, entry));
    if (scope === "shared") return this.sharedConnection(serverId, entry);
    if (usesOAuth(config)) {
      const tokens = this.requireTokens(serverId);
      if ((await tokens.accessToken(serverId, caller.id)) === undefined) {
        throw new GatewayError("unauthenticated", `Connect your account to "${serverId}" first: open ${tokens.connectPath(serverId)} in a browser.`);
      }
    }
    const existing = entry.perUser.get(caller.id);
    if (existing) return existing;
    this.makeRoom(serverId, entry);
    const upstreamFetch: UpstreamFetch = usesOAuth(config) ? this.userTokenFetch(serverId, caller.id) : this.adminFetch(serverId, config);
    const onUnauthorized = usesOAuth(config) ? () => this.requireTokens(serverId).refresh(serverId, caller.id) : undefined;
    const userKey = config.type === "stdio" ? await opaqueUserKey(serverId, caller.id) : undefined;
    const again = entry.perUser.get(caller.id);
    if (again) return again;
    const connection = this.create(serverId, entry, upstreamFetch, onUnauthorized, userKey, caller.id);
    entry.perUser.set(caller.id, connection);
    return connection;
  }

  /**
   * Apply a reloaded config as a diff: servers whose entry is unchanged keep their
   * connections, breakers and in-flight calls; changed and removed ones are closed (their
   * calls end), new ones start lazily. Returns the ids that were restarted or removed.
   */
  update(servers: McpServersConfig): { restarted: string[]; added: string[]; removed: string[] } {
    const restarted: string[] = [];
    const added: string[] = [];
    const removed: string[] = [];
    const next = new Map<string, ServerEntry>();
    for (const [id, config] of Object.entries(servers)) {
      const old = this.servers.get(id);
      if (old && old.fingerprint === fingerprint(config)) next.set(id, old);
      else {
        next.set(id, this.entry(config));
        if (old) restarted.push(id);
        else added.push(id);
      }
    }
    for (const [id, old] of this.servers) {
      if (next.get(id) === old) continue;
      if (!servers[id]) removed.push(id);
      void this.closeEntry(old);
    }
    this.servers = next;
    return { restarted, added, removed };
  }

  async close(): Promise<void> {
    const entries = [...this.servers.values()];
    this.servers = new Map();
    await Promise.all(entries.map((entry) => this.closeEntry(entry)));
  }

  private entry(config: McpServerConfig): ServerEntry {
    return { config, fingerprint: fingerprint(config), health: new ServerHealth(this.options.health), scope: staticScope(config), resolving: undefined, shared: undefined, perUser: new Map(), slowCallers: new Map() };
  }

  private sharedConnection(serverId: string, entry: ServerEntry): UpstreamConnection {
    entry.shared ??= this.create(serverId, entry, this.adminFetch(serverId, entry.config), undefined, undefined);
    return entry.shared;
  }

  /**
   * An http/sse server without `scope`: per-user when its initialize declares resources
   * (resources are where session state shows: server-everything's session resources), else
   * shared. Learnt once over a shared connection, which is closed if the answer is per-user.
   */
  private async resolveScope(serverId: string, entry: ServerEntry): Promise<SessionScope> {
    entry.resolving ??= (async () => {
      const probe = this.sharedConnection(serverId, entry);
      const capabilities = await probe.capabilities();
      const scope: SessionScope = capabilities?.resources ? "per-user" : "shared";
      entry.scope = scope;
      if (scope === "per-user") {
        entry.shared = undefined;
        void probe.close();
      }
      this.options.logger.info({ server: serverId, scope }, "mcp upstream: session scope resolved");
      return scope;
    })().finally(() => {
      entry.resolving = undefined;
    });
    return entry.resolving;
  }

  /** At the cap: close the least recently used idle per-user connection, or refuse. */
  private makeRoom(serverId: string, entry: ServerEntry): void {
    if (entry.perUser.size < entry.config.perUser.max) return;
    let victim: [string, UpstreamConnection] | undefined;
    for (const pair of entry.perUser) if (pair[1].inFlight === 0 && (!victim || pair[1].lastUsed < victim[1].lastUsed)) victim = pair;
    if (!victim) {
      throw new GatewayError("rate_limited", `MCP server "${serverId}" already has ${entry.config.perUser.max} per-user sessions, all busy; try again shortly (an operator can raise perUser.max).`, { retryAfterSeconds: 5 });
    }
    entry.perUser.delete(victim[0]);
    void victim[1].close();
  }

  private create(serverId: string, entry: ServerEntry, upstreamFetch: UpstreamFetch, onUnauthorized: (() => Promise<boolean>) | undefined, userKey: string | undefined, callerId?: string): UpstreamConnection {
    const { config } = entry;
    return new UpstreamConnection({
      serverId,
      config,
      health: entry.health,
      logger: this.options.logger,
      ...(onUnauthorized ? { onUnauthorized } : {}),
      onListChanged: () => this.options.onListChanged?.(serverId, callerId),
      makeTransport: (kind) => {
        if (kind === "http") return httpTransport(config, upstreamFetch);
        if (kind === "sse") return sseTransport(config, upstreamFetch);
        if (!this.options.stdio) throw new GatewayError("not_configured", `MCP server "${serverId}" is a stdio server, which this runtime cannot spawn.`);
        return this.options.stdio(serverId, config, this.stdioEnv(serverId, config, userKey));
      },
    });
  }

  private userTokenFetch(serverId: string, callerId: string): UpstreamFetch {
    const tokens = this.requireTokens(serverId);
    return async (url, init) => {
      const token = await tokens.accessToken(serverId, callerId);
      const headers = new Headers(init?.headers);
      if (token) headers.set("authorization", `Bearer ${token}`);
      return this.fetchImpl(url, { ...init, headers });
    };
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

  private stdioEnv(serverId: string, config: McpServerConfig, userKey: string | undefined): Record<string, string> {
    const env: Record<string, string> = {};
    for (const name of config.env) {
      const value = this.options.secrets.get(name);
      if (value === undefined) throw new GatewayError("not_configured", `MCP server "${serverId}" needs ${name}, which is not set.`);
      env[name] = value;
    }
    if (userKey !== undefined) for (const [name, template] of Object.entries(config.userEnv)) env[name] = template.replaceAll("{user}", userKey);
    return env;
  }

  private requireTokens(serverId: string): UserTokenProvider {
    if (!this.options.userTokens) throw new GatewayError("not_configured", `MCP server "${serverId}" uses per-user OAuth, but no token store is configured.`);
    return this.options.userTokens;
  }

  /** Close this server's per-user connections idle past the limit (on access: no timer keeps the process alive). */
  private sweepIdle(serverId: string, entry: ServerEntry): void {
    const cutoff = Date.now() - entry.config.perUser.idleMs;
    for (const [callerId, connection] of entry.perUser) {
      if (connection.inFlight === 0 && connection.lastUsed !== 0 && connection.lastUsed < cutoff) {
        entry.perUser.delete(callerId);
        this.options.logger.debug({ server: serverId }, "mcp upstream: closing an idle per-user session");
        void connection.close();
      }
    }
  }

  private async closeEntry(entry: ServerEntry): Promise<void> {
    const all = [...(entry.shared ? [entry.shared] : []), ...entry.perUser.values()];
    entry.shared = undefined;
    entry.perUser.clear();
    await Promise.all(all.map((connection) => connection.close().catch((err: unknown) => this.options.logger.debug({ err: describeError(err) }, "mcp upstream: close failed"))));
  }
}

/** The scope known from config alone; undefined means "ask the server" (http/sse without `scope`). */
function staticScope(config: McpServerConfig): SessionScope | undefined {
  if (usesOAuth(config)) return "per-user";
  if (config.scope) return config.scope;
  return config.type === "stdio" ? "per-user" : undefined;
}

/** Stable across key order, so only a real change of the entry counts (a comment never does). */
function fingerprint(config: McpServerConfig): string {
  return JSON.stringify(config, (_key, value: unknown) => (value && typeof value === "object" && !Array.isArray(value) ? Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : value));
}

/** Per-caller key for userEnv: hex, filesystem-safe, not the caller id itself. */
async function opaqueUserKey(serverId: string, callerId: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`gatehouse-mcp-user\u0000${serverId}\u0000${callerId}`));
  return [...new Uint8Array(digest).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function adminRef(auth: Exclude<McpServerConfig["auth"], string | undefined>): { secret: string; header: string; scheme: string } {
  if ("oauth" in auth) throw new Error("not an admin credential");
  return auth;
}
