import { WebSocketServer } from "ws";
import { serve, type ServerType } from "@hono/node-server";
import type { Kysely } from "kysely";
import { join } from "node:path";
import { createApp, type AppModule } from "../../core/app.ts";
import type { Authenticator } from "../../core/auth.ts";
import { systemClock } from "../../core/clock.ts";
import type { AppDeps, SecretSource } from "../../core/deps.ts";
import type { Logger } from "../../core/logger.ts";
import type { Settings } from "../../core/settings.ts";
import { ConfigHolder } from "../../config/index.ts";
import { createBundledCatalog, type Catalog } from "../../catalog/index.ts";
import { BatchedLedgerWriter } from "../../ledger/index.ts";
import { allowAllPolicy, createProxyModule, type ProxyPolicy } from "../../proxy/index.ts";
import { migrateToLatest, type Database } from "../../store/index.ts";
import { createNodeIdentity } from "./identity/index.ts";
import { watchConfigDirectory } from "./identity/config-dir.ts";
import { loadOrgConfig } from "./config-loader.ts";
import { createDiscoveryModule } from "../../discovery/index.ts";
import { createMcpModule } from "../../mcp/index.ts";
import { createMcpAccessPolicy } from "../../policy/index.ts";
import { spawnStdioServer, WorkerPoolExecutor } from "./mcp/index.ts";
import { resolveDevToken } from "./dev-auth.ts";
import { createPinoLogger } from "./logger.ts";
import { loadSecrets } from "./secrets.ts";
import { openSqlite, openSqliteLedgerWriter } from "./sqlite.ts";
import { openSqliteReader } from "./sqlite-reader.ts";
import { isPostgresUrl, openPostgresStore } from "./postgres.ts";
import { nodeTransport } from "./transport.ts";
import { startCatalogRefresh } from "./catalog-refresh.ts";
import { startGovernance, type RunningGovernance } from "./governance.ts";
import { PostgresCounterStore, startClusterSync } from "./cluster/index.ts";

export interface GatewayOptions {
  settings: Settings;
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** Replaces the settings' auth mode (tests). */
  authenticator?: Authenticator;
  policy?: ProxyPolicy;
  /** Extra capability modules mounted after the proxy. */
  modules?: AppModule[];
  /** Skip the catalog network refresh (tests, offline). */
  offline?: boolean;
  /** Reload the config directory when it changes (default true). */
  watchConfig?: boolean;
}

/** The email the generated dev token stands for; it maps to an anonymous id like any other. */
export const DEV_EMAIL = "dev@localhost";

export interface RunningGateway {
  url: string;
  port: number;
  deps: AppDeps;
  ledger: BatchedLedgerWriter;
  catalog: Catalog;
  /** Policy, counters, metrics, dashboard (see docs/governance.md). */
  governance: RunningGovernance;
  devToken: string | undefined;
  /** Stops accepting, finishes in-flight requests, flushes the ledger, closes the store. */
  close(): Promise<void>;
}

/** The embedded store's file. */
export function sqliteFile(settings: Settings): string {
  return join(settings.dataDir, "gatehouse.db");
}

/** Opens the configured store: PostgreSQL when DATABASE_URL is set, else the embedded SQLite file. */
export async function openStore(settings: Settings): Promise<Kysely<Database>> {
  if (settings.databaseUrl) {
    if (!isPostgresUrl(settings.databaseUrl)) throw new Error("DATABASE_URL must be a postgres:// or postgresql:// URL; unset it to use the embedded SQLite store.");
    return openPostgresStore(settings.databaseUrl, { applicationName: `gatehouse-${process.pid}` });
  }
  const db = openSqlite(sqliteFile(settings));
  await migrateToLatest(db);
  return db;
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { settings } = options;
  const env = options.env ?? process.env;
  const logger = options.logger ?? createPinoLogger(settings.logLevel);
  const config = new ConfigHolder(loadOrgConfig(settings.configDir));
  const secrets = loadSecrets(env, settings.secretsFile);
  const db = await openStore(settings);
  // What was opened so far, closed again if the start fails (worker threads would keep the
  // process alive after the error is printed).
  const opened: Array<() => Promise<unknown> | unknown> = [() => db.destroy()];
  try {
    return await startOnStore(options, { logger, config, secrets, db, opened });
  } catch (err) {
    for (const close of opened.reverse()) await close();
    throw err;
  }
}

async function startOnStore(
  options: GatewayOptions,
  base: { logger: Logger; config: ConfigHolder; secrets: SecretSource; db: Kysely<Database>; opened: Array<() => Promise<unknown> | unknown> },
): Promise<RunningGateway> {
  const { settings } = options;
  const { logger, config, secrets, db, opened } = base;

  // Dev mode keeps a generated static token working beside `gatehouse token issue` tokens.
  const devToken = settings.authMode === "dev" ? resolveDevToken(settings).token : undefined;
  const identity = await createNodeIdentity(settings, { db, clock: systemClock, logger, ...(devToken ? { staticTokens: new Map([[devToken, DEV_EMAIL]]) } : {}) });
  const authenticator = options.authenticator ?? identity.authenticator;
  const stopWatch = settings.configDir && options.watchConfig !== false ? watchConfigDirectory(settings.configDir, config, logger) : () => undefined;
  opened.push(stopWatch);

  const catalog = createBundledCatalog();
  // On the embedded store the ledger is written, and dashboard aggregates are read, by worker
  // threads: the driver is synchronous and would stall the proxy.
  const ledgerWriter = settings.databaseUrl ? undefined : openSqliteLedgerWriter(sqliteFile(settings));
  const reader = settings.databaseUrl ? undefined : openSqliteReader(sqliteFile(settings));
  opened.push(() => ledgerWriter?.close(), () => reader?.close());
  const ledger = new BatchedLedgerWriter(db, { flushMs: settings.ledgerFlushMs, batchSize: settings.ledgerBatchSize, logger, insert: ledgerWriter?.insert });
  const deps: AppDeps = { settings, logger, clock: systemClock, db, ...(reader ? { analyticsDb: reader.db } : {}), config, authenticator, secrets };
  // On PostgreSQL every instance reserves against the same budget rows (adapters/node/cluster).
  const sharedCounters = settings.databaseUrl ? new PostgresCounterStore(db, { clock: systemClock, logger }) : undefined;
  const governance = await startGovernance({ config, db, clock: systemClock, logger, catalog, ledger, counters: sharedCounters });
  const proxy = createProxyModule({
    transport: nodeTransport,
    catalog,
    ledger: governance.ledger,
    policy: options.policy ?? governance.policy,
    userIdHeader: settings.userIdHeader,
    stripHeaders: settings.jwtHeader ? [settings.jwtHeader.toLowerCase()] : [],
  });
  const discovery = createDiscoveryModule({ catalog });
  // Code Mode sandboxes start lazily on the first execute; stdio MCP servers on first use.
  const sandbox = new WorkerPoolExecutor();
  const mcp = createMcpModule({ executor: sandbox, stdio: spawnStdioServer, policy: createMcpAccessPolicy(config) });
  const app = createApp(deps, [proxy, identity.module, discovery, mcp, ...governance.modules, ...(options.modules ?? [])]);

  // On PostgreSQL the instances share config and one catalog refresh per interval (adapters/node/cluster).
  const stopRefresh = settings.databaseUrl
    ? await startClusterSync({ db, config, catalog, clock: systemClock, logger, settings, offline: options.offline ?? false })
    : options.offline || settings.catalogRefreshMs === 0
      ? () => undefined
      : startCatalogRefresh(catalog, settings, logger);

  opened.push(() => governance.stop(), () => stopRefresh(), () => sandbox.close());
  // WebSocket upgrades (the Responses API's WebSocket mode) go through the same app and routes.
  const sockets = new WebSocketServer({ noServer: true, maxPayload: settings.maxRequestBodyBytes, perMessageDeflate: false });
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: settings.host, port: settings.port, websocket: { server: sockets } }, () => resolve(s));
    // A taken port or a bad address is a start failure with a clear message, not a crash.
    s.once("error", (err: NodeJS.ErrnoException) => reject(new Error(`Cannot listen on ${settings.host}:${settings.port}: ${err.code ?? err.message}`)));
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : settings.port;
  const url = `http://${settings.host.includes(":") ? `[${settings.host}]` : settings.host}:${port}`;
  logger.info({ url, store: settings.databaseUrl ? "postgres" : "sqlite", authMode: settings.authMode }, "gatehouse listening");

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await stopRefresh();
      stopWatch();
      // Open WebSockets would hold close() open; each relay records what its responses used.
      for (const socket of sockets.clients) socket.close(1001, "gateway shutting down");
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets would hold close() open; in-flight requests still finish.
        (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      });
      await mcp.runtime().close();
      await sandbox.close();
      await governance.stop();
      await ledger.close();
      await ledgerWriter?.close();
      await reader?.close();
      await db.destroy();
    })();
    return closing;
  };

  return { url, port, deps, ledger, catalog, governance, devToken, close };
}
