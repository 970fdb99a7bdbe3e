import type { AppModule } from "../core/app.ts";
import type { AppDeps } from "../core/deps.ts";
import type { CodeExecutor, SandboxLimits } from "../sandbox/index.ts";
import { AuditLog } from "./audit.ts";
import { builtInTransports, withBuiltIns, type BuiltInMcpServer } from "./built-in.ts";
import { PortalCatalog } from "./catalog.ts";
import type { McpServersConfig } from "../config/mcp-schema.ts";
import { mountPortalRoutes } from "./http.ts";
import { ListChangeNotifier } from "./list-changed.ts";
import { allowAllPolicy, type McpAccessPolicy } from "./policy.ts";
import { SessionStore } from "./sessions.ts";
import { TokenCipher } from "./oauth/cipher.ts";
import { mountOAuthRoutes } from "./oauth/routes.ts";
import { OAuthTokenStore } from "./oauth/token-store.ts";
import { UpstreamOAuth } from "./oauth/upstream-oauth.ts";
import { serverAllowed } from "./policy.ts";
import { UpstreamPool, type UserTokenProvider } from "./upstream/pool.ts";
import type { StdioTransportFactory } from "./upstream/transport-factory.ts";
import type { HealthOptions } from "./upstream/health.ts";

export { mcpServersSchema, mcpServerSchema, RESERVED_SERVER_IDS } from "../config/mcp-schema.ts";
export type { McpServerConfig, McpServersConfig } from "../config/mcp-schema.ts";
export { allowAllPolicy, groupAllowListPolicy } from "./policy.ts";
export type { McpAccessPolicy } from "./policy.ts";
export { AUDIT_OUTCOMES, listAuditEntries } from "./audit.ts";
export type { AuditEntry, AuditFilter, AuditOutcome } from "./audit.ts";
export type { UserTokenProvider } from "./upstream/pool.ts";
export { UpstreamOAuth } from "./oauth/upstream-oauth.ts";
export { OAuthTokenStore } from "./oauth/token-store.ts";
export { TokenCipher } from "./oauth/cipher.ts";
export type { StdioTransportFactory } from "./upstream/transport-factory.ts";
export type { HealthOptions } from "./upstream/health.ts";
export type { ServerStatus } from "./catalog.ts";
export type { BuiltInMcpServer } from "./built-in.ts";

export interface McpModuleOptions {
  /** Upstream servers; default: the org config's `mcp` section (rebuilt when the config reloads). */
  servers?: McpServersConfig;
  /** Who sees and calls what; default allow-all (governance supplies the real one). */
  policy?: McpAccessPolicy;
  /** Code Mode sandbox; without it `?codemode=search_and_execute` answers with an error on execute. */
  executor?: CodeExecutor;
  sandboxLimits?: Partial<SandboxLimits>;
  /** Spawns stdio servers (adapters/node/mcp); without it stdio servers are unavailable. */
  stdio?: StdioTransportFactory;
  /** Per-user upstream OAuth tokens; default: built-in OAuth (oauth/) when the key secret is set. */
  userTokens?: (deps: AppDeps) => UserTokenProvider;
  /** Secret (≥32 chars) from which the key encrypting per-user upstream tokens is derived. */
  oauthKeySecret?: string;
  /** Authorization servers advertised in the RFC 9728 metadata; default the gateway itself. */
  authorizationServers?: string[];
  scopes?: string[];
  allowedOrigins?: string[];
  /** Idle portal sessions expire after this; default 30 minutes. */
  sessionIdleMs?: number;
  /** Open portal sessions per caller; one more closes that caller's least recently used. Default 32. */
  maxSessionsPerCaller?: number;
  /** A list waits at most this long for any one upstream; default 3000 ms. */
  listBoundMs?: number;
  /** Per-server circuit breaker: failures in a row that open it (a timeout opens it at once), first cool-down. */
  health?: HealthOptions;
  fetch?: typeof fetch;
  /** In-process servers by id (the knowledge catalog): governed and audited like configured upstreams. */
  builtIns?: (deps: AppDeps) => Readonly<Record<string, BuiltInMcpServer>>;
}

export interface McpModule extends AppModule {
  /** Runtime handles once mounted: for shutdown and tests. */
  runtime(): McpRuntime;
}

export interface McpRuntime {
  audit: AuditLog;
  sessions: SessionStore;
  catalog: PortalCatalog;
  pool(): UpstreamPool;
  close(): Promise<void>;
}

/**
 * The MCP server portal: `/mcp` (Streamable HTTP) over every configured upstream, and the
 * RFC 9728 metadata at `/.well-known/oauth-protected-resource`.
 */
export function createMcpModule(options: McpModuleOptions = {}): McpModule {
  let runtime: McpRuntime | undefined;
  return {
    name: "mcp",
    runtime() {
      if (!runtime) throw new Error("The MCP module is not mounted yet.");
      return runtime;
    },
    mount(app, deps) {
      const audit = new AuditLog(deps.db, deps.logger);
      const sessions = new SessionStore(options.sessionIdleMs ?? 30 * 60_000, deps.clock, options.maxSessionsPerCaller ?? 32);
      const notifier = new ListChangeNotifier(sessions, deps.logger);
      const policy = options.policy ?? allowAllPolicy;
      const builtIns = options.builtIns?.(deps) ?? {};
      let servers = withBuiltIns(options.servers ?? deps.config.current().mcp, builtIns, deps.logger);
      const keySecret = deps.secrets.get(options.oauthKeySecret ?? "GATEHOUSE_MCP_TOKEN_KEY");
      const builtInOAuth =
        !options.userTokens && keySecret
          ? new UpstreamOAuth({ servers: () => servers, store: new OAuthTokenStore(deps.db, new TokenCipher(keySecret)), secrets: deps.secrets, clock: deps.clock, logger: deps.logger, ...(options.fetch ? { fetch: options.fetch } : {}) })
          : undefined;
      const userTokens = options.userTokens?.(deps) ?? builtInOAuth;
      if (builtInOAuth) mountOAuthRoutes(app, { oauth: builtInOAuth, authenticator: deps.authenticator, site: deps.settings, allowed: (caller, id) => serverAllowed(policy, caller, id) });
      const buildPool = (servers: McpServersConfig): UpstreamPool =>
        new UpstreamPool({
          servers,
          secrets: deps.secrets,
          logger: deps.logger,
          stdio: builtInTransports(builtIns, options.stdio),
          ...(userTokens ? { userTokens } : {}),
          ...(options.fetch ? { fetch: options.fetch } : {}),
          ...(options.health ? { health: options.health } : {}),
          // Tell every open session to re-list: clients then see the upstream's new tools.
          onListChanged: (_serverId, callerId) => notifier.changed(callerId),
        });
      const pool = buildPool(servers);
      const catalog = new PortalCatalog(pool, policy, audit, deps.logger, deps.clock, { listBoundMs: options.listBoundMs ?? 3_000 });
      // A reload is applied as a diff: only servers whose entry changed are restarted, so
      // in-flight calls on the others finish and an edit elsewhere (a comment) restarts nothing.
      const unsubscribe = options.servers
        ? undefined
        : deps.config.onChange((config) => {
            servers = withBuiltIns(config.mcp, builtIns, deps.logger);
            const diff = pool.update(servers);
            if (diff.restarted.length + diff.added.length + diff.removed.length === 0) return;
            deps.logger.info(diff, "mcp: config reloaded");
            notifier.changed(undefined);
          });
      mountPortalRoutes(app, {
        authenticator: deps.authenticator,
        catalog: { current: catalog },
        sessions,
        executor: options.executor,
        sandboxLimits: options.sandboxLimits ?? {},
        site: deps.settings,
        authorizationServers: options.authorizationServers ?? [],
        scopes: options.scopes,
        allowedOrigins: options.allowedOrigins ?? [],
        maxBodyBytes: Math.min(deps.settings.maxRequestBodyBytes, 4 * 1024 * 1024),
      });
      runtime = {
        audit,
        sessions,
        catalog,
        pool: () => pool,
        async close() {
          unsubscribe?.();
          notifier.close();
          await sessions.closeAll();
          await pool.close();
          await audit.flush();
        },
      };
    },
  };
}
