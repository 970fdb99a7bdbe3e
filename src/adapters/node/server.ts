import { WebSocketServer } from "ws";
import { serve, type ServerType } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import { join } from "node:path";
import { hostname } from "node:os";
import type { AppModule } from "../../core/app.ts";
import type { Authenticator } from "../../core/auth.ts";
import { systemClock, type Clock } from "../../core/clock.ts";
import type { AppDeps } from "../../core/deps.ts";
import type { Logger } from "../../core/logger.ts";
import type { Settings } from "../../core/settings.ts";
import type { Tracing } from "../../telemetry/index.ts";
import { ConfigHolder } from "../../config/index.ts";
import { createBundledCatalog, type Catalog } from "../../catalog/index.ts";
import type { BatchedLedgerWriter, LedgerCloseResult } from "../../ledger/index.ts";
import type { CaptureWriter, CloudCredentialSources, ProxyPolicy, RequestObserver } from "../../proxy/index.ts";
import { defaultStoreOutagePolicy, OutageAwareCounters, OutageAwareRates } from "../../policy/index.ts";
import { StoreHealth } from "../../store/health.ts";
import { metricLines } from "../../metrics/index.ts";
import { composeGateway, DisposerStack, type GatewayGovernance, type Timers } from "../../gateway/index.ts";
import { createNodeIdentity } from "./identity/index.ts";
import { watchConfigDirectory } from "./identity/config-dir.ts";
import { loadOrgConfig } from "./config-loader.ts";
import { FileLedgerSpool } from "./ledger-spool.ts";
import { assertDataDirWritable, assertStoreWritable } from "./store-checks.ts";
import { spawnStdioServer, WorkerPoolExecutor } from "./mcp/index.ts";
import { resolveDevToken } from "./dev-auth.ts";
import { createPinoLogger } from "./logger.ts";
import { loadSecrets } from "./secrets.ts";
import { nodeCloudCredentials } from "./cloud-credentials.ts";
import { openSqliteLedgerWriter } from "./sqlite.ts";
import { openStore, sqliteFile } from "./store.ts";
import { openSqliteReader } from "./sqlite-reader.ts";
import { redactUrl } from "./postgres.ts";
import { createNodeTransport } from "./transport.ts";
import { registerCapacityMetrics } from "./capacity-metrics.ts";
import { startCatalogRefresh } from "./catalog-refresh.ts";
import { nodeDashboardAssets } from "./dashboard-assets.ts";
import { startKnowledgeRefresh } from "./knowledge/refresh-loop.ts";
import { startCaptureRetention } from "./capture-retention.ts";
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
  /** Where the closers go (tests inspect it after a failed start); default a new stack. */
  disposers?: DisposerStack;
  /** Replaces where Bedrock's and Vertex's credentials come from (tests); default src/adapters/node/cloud-credentials.ts. */
  cloudCredentials?: CloudCredentialSources;
  /** The proxy's clock (tests move it forward past a key pool's cooldown); default the system's. */
  clock?: Clock;
}

/** The email the generated dev token stands for; it maps to an anonymous id like any other. */
export const DEV_EMAIL = "dev@localhost";

/** Policy, counters, metrics, dashboard (see docs/governance.md). */
export type RunningGovernance = GatewayGovernance;

export interface RunningGateway {
  url: string;
  /** OpenTelemetry tracing, when an OTLP endpoint is set (docs/telemetry.md); undefined = no observer registered. */
  tracing: Tracing | undefined;
  port: number;
  deps: AppDeps;
  ledger: BatchedLedgerWriter;
  /** Captured bodies' writer (org config bodyCapture): flush, prune. */
  capture: CaptureWriter;
  catalog: Catalog;
  /** Policy, counters, metrics, dashboard (see docs/governance.md). */
  governance: RunningGovernance;
  devToken: string | undefined;
  /** Whether the store answered last time it was used (budgets, ledger, readiness). */
  storeHealth: StoreHealth;
  /** What `close()` (and a failed start) closes, in order: `disposers.order()`. */
  disposers: DisposerStack;
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

/** Node's timers for the reconcile loop: they never keep the process alive. */
const nodeTimers: Timers = {
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/**
 * `gatehouse serve`: opens what only Node has (the store and its worker threads, the spool, the
 * PostgreSQL counters, node:http, the sandbox pool, stdio MCP servers), hands it to the one
 * composition (src/gateway) and listens. Everything opened is pushed on one disposer stack,
 * which a failed start and `close()` both run, last opened first: stop accepting and drain →
 * knowledge refresh → catalog refresh → config watch → MCP → sandbox → governance → ledger close → counters →
 * ledger writer thread → reader thread → store.
 */
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
  // process alive after the error is printed), and at shutdown.
  const disposers = options.disposers ?? new DisposerStack(logger);
  disposers.push("store", () => db.destroy());
  try {
    await assertStoreWritable(db, settings.databaseUrl ? redactUrl(settings.databaseUrl) : sqliteFile(settings));

    // Dev mode keeps a generated static token working beside `gatehouse token issue` tokens.
    const devToken = settings.authMode === "dev" ? resolveDevToken(settings).token : undefined;
    const identity = await createNodeIdentity(settings, { db, clock: systemClock, logger, ...(devToken ? { staticTokens: new Map([[devToken, DEV_EMAIL]]) } : {}) });

    // On the embedded store the ledger is written, and dashboard aggregates are read, by worker
    // threads: the driver is synchronous and would stall the proxy.
    const reader = settings.databaseUrl ? undefined : openSqliteReader(sqliteFile(settings));
    if (reader) disposers.push("reader thread", () => reader.close());
    const ledgerWriter = settings.databaseUrl ? undefined : openSqliteLedgerWriter(sqliteFile(settings));
    if (ledgerWriter) disposers.push("ledger writer thread", () => ledgerWriter.close());
    // Rows past the memory bound, and rows the store did not take by the shutdown deadline,
    // wait here; segments left by an earlier process are replayed from the start.
    const spool = new FileLedgerSpool({ dir: join(settings.dataDir, "ledger-spool"), logger, maxBytes: settings.ledgerSpoolMb * 1024 * 1024 });
    if (spool.rows > 0) logger.warn({ rows: spool.rows, segments: spool.leftover }, "replaying ledger rows spooled by an earlier run");

    // On PostgreSQL every instance reserves against the same budget and rate-limit rows
    // (adapters/node/cluster), with a stated behaviour while PostgreSQL is down (policy.storeOutage).
    const outage = { health: storeHealth, policy: () => config.current().policy?.storeOutage ?? defaultStoreOutagePolicy, logger };
    const pgCounters = settings.databaseUrl ? new PostgresCounterStore(db, { clock: systemClock, logger, instanceId: `${hostname()}:${process.pid}`, reservationTtlMs: settings.reservationLeaseMs }) : undefined;
    if (pgCounters) {
      pgCounters.start();
      disposers.push("counters", () => pgCounters.stop());
    }

    const transport = createNodeTransport({ maxSockets: settings.upstreamMaxSockets });
    // Sandbox diagnostics and worker output go to the JSON log as structured lines.
    const sandbox = new WorkerPoolExecutor({ logger });
    const catalog = createBundledCatalog();
    const gateway = await composeGateway({
      settings,
      logger,
      clock: options.clock ?? systemClock,
      db,
      analyticsDb: reader?.db,
      config,
      secrets,
      storeHealth,
      catalog,
      authenticator: options.authenticator ?? identity.authenticator,
      identity,
      transport,
      cloudCredentials: options.cloudCredentials ?? nodeCloudCredentials(secrets, env),
      policy: options.policy,
      observers: options.observers ?? [],
      counters: pgCounters ? new OutageAwareCounters(pgCounters, outage) : undefined,
      // Budgets in PostgreSQL mean several instances: their rate windows must be shared too, or
      // N instances would each admit the full limit (N x the limit in total).
      rates: pgCounters ? new OutageAwareRates(new PostgresRateLimiter(db, logger), outage) : undefined,
      // In-memory counters (one process on the embedded store) are exact once started from the
      // ledger; shared counters keep the periodic sums as a safety net.
      reconcile: { timers: nodeTimers, periodicSums: pgCounters !== undefined },
      ledger: { spool, insert: ledgerWriter?.insert },
      dashboardAssets: nodeDashboardAssets(),
      mcp: { executor: sandbox, stdio: spawnStdioServer },
      instrument: (metrics) => {
        registerCapacityMetrics(metrics, transport);
        if (pgCounters) metrics.addCollector((out) => metricLines(out, "gatehouse_budget_pending_settles", "gauge", "Budget settles waiting for PostgreSQL.", pgCounters.pending));
      },
      clientAddress: (c) => getConnInfo(c).remote.address,
      extraModules: options.modules ?? [],
      disposers,
    });

    // On PostgreSQL the instances share config and one catalog refresh per interval (adapters/node/cluster).
    const stopWatch = settings.configDir && options.watchConfig !== false ? watchConfigDirectory(settings.configDir, config, logger) : undefined;
    if (stopWatch) disposers.push("config watch", stopWatch);
    const stopRefresh = settings.databaseUrl
      ? await startClusterSync({ db, config, catalog, clock: systemClock, logger, settings, offline: options.offline ?? false })
      : options.offline || settings.catalogRefreshMs === 0
        ? undefined
        : startCatalogRefresh(catalog, settings, logger);
    if (stopRefresh) disposers.push("catalog refresh", stopRefresh);
    // The service catalog's configured sources (org config `knowledge`), one refresh per source per interval cluster-wide.
    const stopKnowledge = startKnowledgeRefresh({ db, config, secrets, logger, clock: systemClock, ...(settings.configDir ? { configDir: settings.configDir } : {}) });
    disposers.push("knowledge refresh", stopKnowledge);
    // Captured bodies (org config bodyCapture) past their retention are deleted on a timer.
    disposers.push("body capture retention", startCaptureRetention(gateway.capture, logger));

    // WebSocket upgrades (the Responses API's WebSocket mode) go through the same app and routes.
    const sockets = new WebSocketServer({ noServer: true, maxPayload: settings.maxRequestBodyBytes, perMessageDeflate: false });
    const server: ServerType = await new Promise((resolve, reject) => {
      const s = serve({ fetch: gateway.app.fetch, hostname: settings.host, port: settings.port, websocket: { server: sockets } }, () => resolve(s));
      // A taken port or a bad address is a start failure with a clear message, not a crash.
      s.once("error", (err: NodeJS.ErrnoException) => reject(new Error(`Cannot listen on ${settings.host}:${settings.port}: ${err.code ?? err.message}`)));
    });
    let cutConnections = 0;
    disposers.push("stop accepting and drain", async () => {
      gateway.beginShutdown();
      // Open WebSockets would hold close() open; each relay records what its responses used.
      for (const socket of sockets.clients) socket.close(1001, "gateway shutting down");
      cutConnections = await drainServer(server, settings.drainMs, logger, () => transport.endAnswers("The gateway is shutting down; the answer is incomplete. Retry the request."));
    });
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : settings.port;
    const url = `http://${settings.host.includes(":") ? `[${settings.host}]` : settings.host}:${port}`;
    logger.info({ url, store: settings.databaseUrl ? "postgres" : "sqlite", authMode: settings.authMode, modules: gateway.modules }, "gatehouse listening");

    const close = async (): Promise<ShutdownReport> => {
      await disposers.disposeAll();
      // No close result: the ledger's close threw (logged by the stack); its rows are not known to be anywhere.
      const written = gateway.ledgerCloseResult() ?? { spooled: 0, spoolFile: undefined, lost: gateway.ledger.stats().queued };
      return { ...written, cutConnections };
    };
    return { url, port, deps: gateway.deps, ledger: gateway.ledger, capture: gateway.capture, catalog, governance: gateway.governance, devToken, storeHealth, disposers, tracing: gateway.tracing, close };
  } catch (err) {
    await disposers.disposeAll();
    throw err;
  }
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
