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
import { createBundledCatalog, createPricer, type Catalog } from "../../catalog/index.ts";
import { BatchedLedgerWriter, type LedgerCloseResult } from "../../ledger/index.ts";
import { allowAllPolicy, CallerConcurrencyLimiter, combineObservers, createProxyModule, ledgerSubscriber, policySubscriber, type ProxyPolicy, type RequestObserver } from "../../proxy/index.ts";
import type { Database } from "../../store/index.ts";
import { createNodeIdentity } from "./identity/index.ts";
import { watchConfigDirectory } from "./identity/config-dir.ts";
import { loadOrgConfig } from "./config-loader.ts";
import { createDiscoveryModule } from "../../discovery/index.ts";
import { createMcpModule } from "../../mcp/index.ts";
import { createMcpAccessPolicy, defaultStoreOutagePolicy, OutageAwareCounters, OutageAwareRates } from "../../policy/index.ts";
import { StoreHealth } from "../../store/health.ts";
import { runReadiness } from "../../core/readiness.ts";
import { metricLines, metricsSubscriber } from "../../metrics/index.ts";
import { FileLedgerSpool } from "./ledger-spool.ts";
import { assertDataDirWritable, assertStoreWritable } from "./store-checks.ts";
import { sql } from "kysely";
import { hostname } from "node:os";
import { knowledgeBuiltIn } from "../../knowledge/index.ts";
import { spawnStdioServer, WorkerPoolExecutor } from "./mcp/index.ts";
import { resolveDevToken } from "./dev-auth.ts";
import { createPinoLogger } from "./logger.ts";
import { startOtlpTracing, type Tracing } from "../../telemetry/index.ts";
import { loadSecrets } from "./secrets.ts";
import { openSqliteLedgerWriter } from "./sqlite.ts";
import { openStore, sqliteFile } from "./store.ts";
import { openSqliteReader } from "./sqlite-reader.ts";
import { redactUrl } from "./postgres.ts";
import { createNodeTransport } from "./transport.ts";
import { registerCapacityMetrics } from "./capacity-metrics.ts";
import { startCatalogRefresh } from "./catalog-refresh.ts";
import { startGovernance, type RunningGovernance } from "./governance.ts";
import { PostgresCounterStore, PostgresRateLimiter, startClusterSync } from "./cluster/index.ts";

export interface GatewayOptions {
  settings: Settings;
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** Replaces the settings' auth mode (tests). */
  authenticator?: Authenticator;
  policy?: ProxyPolicy;
  /** More subscribers to every request's life (after the ledger, metrics and policy ones). */
  observers?: RequestObserver[];
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
  /** OpenTelemetry tracing, when an OTLP endpoint is set (docs/telemetry.md); undefined = no observer registered. */
  tracing: Tracing | undefined;
  port: number;
  deps: AppDeps;
  ledger: BatchedLedgerWriter;
  catalog: Catalog;
  /** Policy, counters, metrics, dashboard (see docs/governance.md). */
  governance: RunningGovernance;
  devToken: string | undefined;
  /** Whether the store answered last time it was used (budgets, ledger, readiness). */
  storeHealth: StoreHealth;
  /**
   * Stops accepting, lets in-flight requests finish for up to GATEHOUSE_DRAIN_MS (then closes
   * their connections), writes the ledger for up to GATEHOUSE_SHUTDOWN_FLUSH_MS, spools what
   * the store did not take, closes the store. Says what was not written.
   */
  close(): Promise<ShutdownReport>;
}

export interface ShutdownReport extends LedgerCloseResult {
  /** Connections still open at the drain deadline, closed by force. */
  cutConnections: number;
}

/**
 * `gatehouse serve`'s exit code after a shutdown: 0 when every row is in the store, 75
 * (EX_TEMPFAIL) when rows were spooled to disk for the next start, 70 (EX_SOFTWARE) when
 * rows were lost.
 */
export function shutdownExitCode(report: ShutdownReport): number {
  if (report.lost > 0) return 70;
  if (report.spooled > 0) return 75;
  return 0;
}

export { openStore, sqliteFile } from "./store.ts";

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { settings } = options;
  const env = options.env ?? process.env;
  const logger = options.logger ?? createPinoLogger(settings.logLevel);
  const config = new ConfigHolder(loadOrgConfig(settings.configDir));
  const secrets = loadSecrets(env, settings.secretsFile);
  // Refuse to start rather than serve requests that could not be recorded.
  assertDataDirWritable(settings.dataDir);
  const storeHealth = new StoreHealth(() => systemClock.now());
  const db = await openStore(settings, { logger, health: storeHealth });
  // What was opened so far, closed again if the start fails (worker threads would keep the
  // process alive after the error is printed).
  const opened: Array<() => Promise<unknown> | unknown> = [() => db.destroy()];
  try {
    await assertStoreWritable(db, settings.databaseUrl ? redactUrl(settings.databaseUrl) : sqliteFile(settings));
    return await startOnStore(options, { logger, config, secrets, db, opened, storeHealth });
  } catch (err) {
    for (const close of opened.reverse()) await close();
    throw err;
  }
}

async function startOnStore(
  options: GatewayOptions,
  base: { logger: Logger; config: ConfigHolder; secrets: SecretSource; db: Kysely<Database>; opened: Array<() => Promise<unknown> | unknown>; storeHealth: StoreHealth },
): Promise<RunningGateway> {
  const { settings } = options;
  const { logger, config, secrets, db, opened, storeHealth } = base;

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
  // Rows past the memory bound, and rows the store did not take by the shutdown deadline,
  // wait here; segments left by an earlier process are replayed from the start.
  const spool = new FileLedgerSpool({ dir: join(settings.dataDir, "ledger-spool"), logger, maxBytes: settings.ledgerSpoolMb * 1024 * 1024 });
  if (spool.rows > 0) logger.warn({ rows: spool.rows, segments: spool.leftover }, "replaying ledger rows spooled by an earlier run");
  const ledger = new BatchedLedgerWriter(db, {
    flushMs: settings.ledgerFlushMs,
    batchSize: settings.ledgerBatchSize,
    maxPending: settings.ledgerMemoryRows,
    spool,
    logger,
    insert: ledgerWriter?.insert,
    onWrite: (err) => (err === undefined ? storeHealth.succeeded() : storeHealth.failed(err)),
  });
  if (spool.rows > 0) void ledger.flush();
  const deps: AppDeps = { settings, logger, clock: systemClock, db, ...(reader ? { analyticsDb: reader.db } : {}), config, authenticator, secrets };
  // On PostgreSQL every instance reserves against the same budget and rate-limit rows
  // (adapters/node/cluster), with a stated behaviour while PostgreSQL is down (policy.storeOutage).
  const outage = { health: storeHealth, policy: () => config.current().policy?.storeOutage ?? defaultStoreOutagePolicy, logger };
  const pgCounters = settings.databaseUrl ? new PostgresCounterStore(db, { clock: systemClock, logger, instanceId: `${hostname()}:${process.pid}`, reservationTtlMs: settings.reservationLeaseMs }) : undefined;
  pgCounters?.start();
  opened.push(() => pgCounters?.stop());
  const sharedCounters = pgCounters ? new OutageAwareCounters(pgCounters, outage) : undefined;
  const sharedRates = pgCounters ? new OutageAwareRates(new PostgresRateLimiter(db, logger), outage) : undefined;
  // One pricing function for the policy's estimates and the ledger's costs.
  const pricer = createPricer(catalog, config);
  const governance = await startGovernance({ config, db, clock: systemClock, logger, pricer, counters: sharedCounters, rates: sharedRates });
  governance.metrics.addCollector((out) => {
    const stats = ledger.stats();
    metricLines(out, "gatehouse_ledger_queued_rows", "gauge", "Ledger rows waiting in memory for the store.", stats.queued);
    metricLines(out, "gatehouse_ledger_spooled_rows", "gauge", "Ledger rows waiting in the spool on disk (<data dir>/ledger-spool).", stats.spooled);
    metricLines(out, "gatehouse_ledger_dropped_rows_total", "counter", "Ledger rows lost: memory and spool full, or the disk failed.", stats.dropped);
    metricLines(out, "gatehouse_ledger_failed_writes_total", "counter", "Ledger inserts the store refused or did not answer.", stats.failedWrites);
    metricLines(out, "gatehouse_store_up", "gauge", "1 while the store answers, 0 while it is down.", storeHealth.up ? 1 : 0);
    if (pgCounters) metricLines(out, "gatehouse_budget_pending_settles", "gauge", "Budget settles waiting for PostgreSQL.", pgCounters.pending);
  });
  let shuttingDown = false;
  deps.readiness = {
    shutdown: () => (shuttingDown ? "shutting down" : undefined),
    store: async () => {
      try {
        await sql`select 1`.execute(db);
      } catch (err) {
        storeHealth.failed(err);
        return `store unreachable: ${err instanceof Error ? err.message : String(err)}`;
      }
      const stats = ledger.stats();
      if (stats.failingSince !== undefined) return `ledger writes failing for ${Math.round((systemClock.now() - stats.failingSince) / 1000)} s (${stats.queued} rows queued in memory, ${stats.spooled} spooled)`;
      return undefined;
    },
    // Loaded = parsed and in force (a start with an invalid config fails, a bad reload keeps the last good one);
    // a gateway serving neither a provider nor an MCP server is not ready for anything.
    config: () => {
      const current = config.current();
      return Object.keys(current.providers).length > 0 || Object.keys(current.mcp ?? {}).length > 0 ? undefined : "the config serves no provider and no MCP server (check the config directory)";
    },
    catalog: () => (catalog.modelCount > 0 ? undefined : "the model catalog is empty"),
  };
  // OpenTelemetry: nothing at all (no observer, no SDK loaded) unless an OTLP endpoint is set.
  const tracing = await startOtlpTracing(settings, logger);
  opened.push(() => tracing?.shutdown());
  const transport = createNodeTransport({ maxSockets: settings.upstreamMaxSockets });
  const concurrency = new CallerConcurrencyLimiter(settings.maxConcurrentPerCaller);
  registerCapacityMetrics(governance.metrics, transport, concurrency);
  const proxy = createProxyModule({
    transport,
    concurrency,
    pricer,
    // Every request's end: its ledger row, /metrics (refusals included), the breaker and the budget settle.
    observer: combineObservers([ledgerSubscriber(ledger), metricsSubscriber(governance.metrics), policySubscriber(), ...(tracing ? [tracing.observer] : []), ...(options.observers ?? [])], logger),
    policy: options.policy ?? governance.policy,
    userIdHeader: settings.userIdHeader,
    // Tracing on: the client's trace headers are replaced by the gateway's own (docs/telemetry.md).
    stripHeaders: [...(settings.jwtHeader ? [settings.jwtHeader.toLowerCase()] : []), ...(tracing?.stripHeaders ?? [])],
  });
  const discovery = createDiscoveryModule({ catalog });
  // Code Mode sandboxes start lazily on the first execute; stdio MCP servers on first use.
  // Sandbox diagnostics and worker output go to the JSON log as structured lines.
  const sandbox = new WorkerPoolExecutor({ logger });
  const mcp = createMcpModule({ executor: sandbox, stdio: spawnStdioServer, policy: createMcpAccessPolicy(config), builtIns: (deps) => ({ knowledge: knowledgeBuiltIn(deps.db) }) });
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

  let closing: Promise<ShutdownReport> | undefined;
  const close = (): Promise<ShutdownReport> => {
    closing ??= (async () => {
      shuttingDown = true;
      await stopRefresh();
      stopWatch();
      // Open WebSockets would hold close() open; each relay records what its responses used.
      for (const socket of sockets.clients) socket.close(1001, "gateway shutting down");
      const cutConnections = await drainServer(server, settings.drainMs, logger, () => transport.endAnswers("The gateway is shutting down; the answer is incomplete. Retry the request."));
      await mcp.runtime().close();
      await sandbox.close();
      await governance.stop();
      const written = await ledger.close(settings.shutdownFlushMs);
      await pgCounters?.stop();
      await ledgerWriter?.close();
      await reader?.close();
      // The drained requests' spans are ended by now: export what is queued.
      await tracing?.shutdown();
      await db.destroy();
      return { ...written, cutConnections };
    })();
    return closing;
  };

  return { url, port, deps, ledger, catalog, governance, devToken, storeHealth, tracing, close };
}

/**
 * Stops accepting and waits for in-flight requests, for at most `drainMs`. Then answers
 * still being relayed are ended with the provider's error event (`endAnswers`; their rows
 * are written as upstream_failed / gateway_shutdown) and, after a short grace for those
 * last writes, the connections still open are closed. Returns how many were cut or ended.
 */
async function drainServer(server: ServerType, drainMs: number, logger: Logger, endAnswers: () => number): Promise<number> {
  const http = server as unknown as { closeIdleConnections?: () => void; closeAllConnections?: () => void; getConnections?: (cb: (err: Error | null, count: number) => void) => void };
  const timers: Array<ReturnType<typeof setTimeout>> = [];
  let cut = 0;
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    // Idle keep-alive sockets would hold close() open; in-flight requests still finish.
    http.closeIdleConnections?.();
    const deadline = setTimeout(() => {
      const ended = endAnswers();
      http.getConnections?.((err, count) => {
        cut = err ? ended : Math.max(count, ended);
        logger.warn({ connections: count, endedAnswers: ended, drainMs }, "drain deadline reached; ending answers still relayed and closing the connections still open");
        http.closeIdleConnections?.();
        const grace = setTimeout(() => http.closeAllConnections?.(), DRAIN_GRACE_MS);
        grace.unref();
        timers.push(grace);
      });
    }, drainMs);
    deadline.unref();
    timers.push(deadline);
  });
  for (const timer of timers) clearTimeout(timer);
  return cut;
}

/** How long ended answers get to reach their clients before the remaining sockets are closed. */
const DRAIN_GRACE_MS = 500;
