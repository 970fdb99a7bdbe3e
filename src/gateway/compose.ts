import type { Kysely } from "kysely";
import { createApp, type AppEnv, type AppModule } from "../core/app.ts";
import type { Authenticator } from "../core/auth.ts";
import type { Clock } from "../core/clock.ts";
import type { AppDeps, SecretSource } from "../core/deps.ts";
import type { Logger } from "../core/logger.ts";
import type { Settings } from "../core/settings.ts";
import type { Context, Hono } from "hono";
import packageJson from "../../package.json" with { type: "json" };
import { createAdminModule } from "../admin/index.ts";
import { createPricer, type Catalog } from "../catalog/index.ts";
import type { ConfigHolder } from "../config/index.ts";
import { createDashboardModule, type DashboardAssets } from "../dashboard/index.ts";
import { createDiscoveryModule } from "../discovery/index.ts";
import { createLoginModule, type Identity } from "../identity/index.ts";
import { knowledgeBuiltIn } from "../knowledge/index.ts";
import { BatchedLedgerWriter, type LedgerCloseResult, type LedgerInsert, type LedgerSpool } from "../ledger/index.ts";
import { createMcpModule, type McpModule, type StdioTransportFactory } from "../mcp/index.ts";
import { createMetricsModule, metricsSubscriber, MetricsRegistry } from "../metrics/index.ts";
import { createMcpAccessPolicy, isZdr, type CounterStore, type RateLimiterStore } from "../policy/index.ts";
import {
  CallerConcurrencyLimiter,
  captureRetentionMs,
  captureSubscriber,
  CaptureWriter,
  combineObservers,
  configuredProviderKeys,
  createProxyModule,
  createUpstreamAuth,
  ledgerSubscriber,
  policySubscriber,
  type CloudCredentialSources,
  type ProxyPolicy,
  type ProxyTransport,
  type RequestObserver,
} from "../proxy/index.ts";
import type { CodeExecutor } from "../sandbox/index.ts";
import type { StoreHealth } from "../store/health.ts";
import type { Database } from "../store/index.ts";
import type { DisposerStack } from "./disposers.ts";
import { registerAlertMetrics, registerGatewayGauges } from "./gauges.ts";
import { startGovernance, type ReconcileLoop, type RunningGovernance } from "./governance.ts";
import { gatewayReadiness } from "./readiness.ts";
import { startOtlpTracing, type Tracing } from "../telemetry/index.ts";
import { startAlerts, type RunningAlerts } from "../alerts/index.ts";

/**
 * What only a runtime can give the gateway. A part a runtime cannot offer is `undefined`,
 * and the module that needs it is built without it (docs/deploy.md#what-runs-on-workers).
 */
export interface GatewayParts {
  settings: Settings;
  logger: Logger;
  clock: Clock;
  /** The store: ledger, identities, budgets' reconcile, audit, dashboard. */
  db: Kysely<Database>;
  /** Where dashboard aggregates run when not on `db` (the embedded SQLite's reader thread). */
  analyticsDb: Kysely<Database> | undefined;
  config: ConfigHolder;
  secrets: SecretSource;
  storeHealth: StoreHealth;
  /** The model catalog; the runtime keeps it fresh (a timer, a cluster sync, KV). */
  catalog: Catalog;
  /** Who is calling, for every route. */
  authenticator: Authenticator;
  /** What identity built; its signing key and issuer, when the gateway signs its own tokens, mount `/auth/*`. */
  identity: Identity | undefined;
  /** How the proxy moves bytes (node:http, fetch). */
  transport: ProxyTransport;
  /** Where Bedrock's AWS credentials and Vertex's service-account key come from; unset = the secrets (Workers). */
  cloudCredentials?: CloudCredentialSources | undefined;
  /** Replaces governance's policy on the proxy (tests). */
  policy: ProxyPolicy | undefined;
  /** More subscribers to every request's life, after the gateway's own (tests, a runtime's exporter). */
  observers: readonly RequestObserver[];
  /** Budget and rate-limit stores shared by instances; undefined = in memory, this process only. */
  counters: CounterStore | undefined;
  rates: RateLimiterStore | undefined;
  reconcile: ReconcileLoop | undefined;
  ledger: {
    /** Overflow and shutdown spool (Node: files under the data dir); undefined = rows past memory are dropped. */
    spool: LedgerSpool | undefined;
    /** A faster insert than the portable Kysely one (the embedded SQLite's writer thread). */
    insert: LedgerInsert | undefined;
  };
  dashboardAssets: DashboardAssets;
  /**
   * The MCP portal's runtime parts; undefined = the portal is not mounted (a runtime that cannot
   * keep upstream connections and sessions across requests: Workers).
   */
  mcp:
    | {
        /** Code Mode's sandbox; undefined = `?codemode` answers execute with an error. */
        executor: CodeExecutor | undefined;
        /** Spawns stdio MCP servers; undefined = they are listed as unavailable. */
        stdio: StdioTransportFactory | undefined;
      }
    | undefined;
  /** Runtime-specific /metrics (a connection pool, a shared store's backlog). */
  instrument: ((metrics: MetricsRegistry) => void) | undefined;
  /** The client's address as the runtime sees it, for the admin audit log ("from where"); undefined = not known. */
  clientAddress: ((c: Context) => string | undefined) | undefined;
  /** Mounted after the gateway's own modules (tests). */
  extraModules: readonly AppModule[];
  /** Every opened part registers its closer here; the runtime disposes it on a failed start and at shutdown. */
  disposers: DisposerStack;
}

export interface GatewayGovernance extends RunningGovernance {
  /** What /metrics renders; fed by its subscriber on the proxy's observer. */
  metrics: MetricsRegistry;
  /** Dashboard and /metrics. */
  modules: AppModule[];
}

export interface ComposedGateway {
  app: Hono<AppEnv>;
  deps: AppDeps;
  ledger: BatchedLedgerWriter;
  governance: GatewayGovernance;
  /** The portal, when mounted. */
  mcp: McpModule | undefined;
  /** The mounted modules' names, in mount order: the same list on every runtime. */
  modules: string[];
  /** Readiness answers 503 "shutting down" from now on. */
  beginShutdown(): void;
  /** What the shutdown's ledger close left unwritten (set once the "ledger" disposer ran). */
  ledgerCloseResult(): LedgerCloseResult | undefined;
  /** Work a request leaves behind (ledger rows, audit rows); a runtime without a process awaits it after each response. */
  settled(): Promise<void>;
  /** OpenTelemetry tracing, when an OTLP endpoint is set (docs/telemetry.md); undefined = no observer registered. */
  tracing: Tracing | undefined;
  /** Where captured bodies go (org config `bodyCapture`); a runtime with timers prunes it periodically. */
  capture: CaptureWriter;
  /** Alerts' emitter and sender; undefined on a runtime without timers (Workers). */
  alerts: RunningAlerts | undefined;
}

/** The names of the modules the composition mounts, in order (before `extraModules`); `mcp` only given `parts.mcp`. */
export const GATEWAY_MODULES = ["proxy", "identity-login", "discovery", "mcp", "dashboard", "metrics", "admin"] as const;

/**
 * The one composition of the gateway: builds the deps, governance, the ledger and every module
 * from the runtime's parts, in the same way and the same order on Node and Workers, and
 * registers each closer on `parts.disposers`. Disposed in reverse, the gateway's own part of
 * the shutdown is: MCP → sandbox → governance → alerts (queued events written) → ledger close (what the runtime pushed before
 * this — counters, writer threads, the store — follows).
 */
export async function composeGateway(parts: GatewayParts): Promise<ComposedGateway> {
  const { settings, logger, clock, db, config, catalog, storeHealth, disposers } = parts;

  const ledger = new BatchedLedgerWriter(db, {
    flushMs: settings.ledgerFlushMs,
    batchSize: settings.ledgerBatchSize,
    maxPending: settings.ledgerMemoryRows,
    spool: parts.ledger.spool,
    logger,
    insert: parts.ledger.insert,
    onWrite: (err) => (err === undefined ? storeHealth.succeeded() : storeHealth.failed(err)),
  });
  let closeResult: LedgerCloseResult | undefined;
  disposers.push("ledger", async () => {
    closeResult = await ledger.close(settings.shutdownFlushMs);
  });
  // Rows spooled by an earlier run are replayed from the start.
  if (parts.ledger.spool && parts.ledger.spool.rows > 0) void ledger.flush();

  // One pricing function for the policy's estimates and the ledger's costs.
  const pricer = createPricer(catalog, config);
  // Alerts (policy.alerts): events to the store's outbox, a background sender to the webhooks;
  // needs the runtime's timers. Stopped after governance, so the drained requests' events are written.
  const alerts = startAlerts({ db, config, secrets: parts.secrets, clock, logger, timers: parts.reconcile?.timers, instanceId: crypto.randomUUID() });
  if (alerts) disposers.push("alerts", () => alerts.stop());
  const governanceCore = await startGovernance({ config, db, clock, logger, pricer, counters: parts.counters, rates: parts.rates, reconcile: parts.reconcile, events: alerts?.emitter });
  disposers.push("governance", () => governanceCore.stop());
  const metrics = new MetricsRegistry();
  // The burn-down shows the limits the budget check enforces: overrides and resets included.
  const dashboard = createDashboardModule(parts.dashboardAssets, (scope, monthKey, configuredUsd, now) => governanceCore.overrides.effective(scope, "month", monthKey, configuredUsd, now));
  const metricsModule = createMetricsModule(metrics);
  const governance: GatewayGovernance = { ...governanceCore, metrics, modules: [dashboard, metricsModule] };

  let shuttingDown = false;
  const deps: AppDeps = {
    settings,
    logger,
    clock,
    db,
    ...(parts.analyticsDb ? { analyticsDb: parts.analyticsDb } : {}),
    config,
    authenticator: parts.authenticator,
    secrets: parts.secrets,
    readiness: gatewayReadiness({ db, clock, ledger, storeHealth, config, catalog, shuttingDown: () => shuttingDown }),
  };

  const concurrency = new CallerConcurrencyLimiter(settings.maxConcurrentPerCaller);
  registerGatewayGauges(metrics, { ledger, storeHealth, concurrency });
  if (alerts) registerAlertMetrics(metrics, alerts);
  parts.instrument?.(metrics);

  // Every request's life goes to these, in order: its ledger row, /metrics (refusals included),
  // the breaker and the budget settle. A new subscriber (tracing) is one more line here.
  // OpenTelemetry: nothing at all (no observer, no SDK loaded) unless an OTLP endpoint is set;
  // disposed after the drain, so the drained requests' spans are exported (docs/telemetry.md).
  const tracing = await startOtlpTracing(settings, logger);
  if (tracing) disposers.push("tracing", () => tracing.shutdown());
  // Body capture (org config `bodyCapture`, off by default): no listener at all while off.
  const capture = new CaptureWriter({
    db,
    clock,
    logger,
    retentionMs: () => captureRetentionMs(config.current().bodyCapture),
    knownSecrets: () => configuredProviderKeys(config.current(), parts.secrets),
  });
  disposers.push("body capture", () => capture.close());
  const captureBodies = captureSubscriber({ config, sink: capture, zeroDataRetention: (providerId, _shape, models) => models.some((model) => isZdr(config.current(), providerId, model)) });
  const subscribers: RequestObserver[] = [ledgerSubscriber(ledger), metricsSubscriber(metrics), policySubscriber(), captureBodies, ...(alerts ? [alerts.observer] : []), ...(tracing ? [tracing.observer] : []), ...parts.observers];
  const proxy = createProxyModule({
    transport: parts.transport,
    concurrency,
    pricer,
    observer: combineObservers(subscribers, logger),
    policy: parts.policy ?? governance.policy,
    upstreamAuth: createUpstreamAuth(parts.secrets, parts.cloudCredentials),
    userIdHeader: settings.userIdHeader,
    // A configured identity header carries the caller's token: never to a provider.
    // Tracing on: the client's trace headers are replaced by the gateway's own.
    stripHeaders: [...(settings.jwtHeader ? [settings.jwtHeader.toLowerCase()] : []), ...(tracing?.stripHeaders ?? [])],
  });
  // Without a signing key (jwt mode, or a runtime that keeps none) the login module mounts nothing.
  const login: AppModule = parts.identity ? createLoginModule({ settings, identity: parts.identity, logger }) : { name: "identity-login", mount: () => undefined };
  const discovery = createDiscoveryModule({ catalog });
  const executor = parts.mcp?.executor;
  if (executor) disposers.push("sandbox", () => executor.close());
  // Code Mode sandboxes start lazily on the first execute; stdio MCP servers on first use.
  const mcp = parts.mcp
    ? createMcpModule({
        ...(executor ? { executor } : {}),
        ...(parts.mcp.stdio ? { stdio: parts.mcp.stdio } : {}),
        policy: createMcpAccessPolicy(config),
        builtIns: (deps) => ({ knowledge: knowledgeBuiltIn(deps.db) }),
      })
    : undefined;

  // The admin API (/admin/v1): its revocations take effect on this instance at once.
  const admin = createAdminModule({ revocations: parts.identity?.revocations, keys: parts.identity?.serviceAccountVerifier, clientAddress: parts.clientAddress, version: packageJson.version });
  const mounted = [proxy, login, discovery, ...(mcp ? [mcp] : []), dashboard, metricsModule, admin, ...parts.extraModules];
  const app = createApp(deps, mounted);
  if (mcp) disposers.push("mcp", () => mcp.runtime().close());

  return {
    app,
    deps,
    ledger,
    governance,
    mcp,
    modules: mounted.map((m) => m.name),
    beginShutdown: () => {
      shuttingDown = true;
    },
    ledgerCloseResult: () => closeResult,
    tracing,
    capture,
    alerts,
    settled: async () => {
      // A Worker keeps no timer running after its response: each request's spans go with its row.
      await Promise.all([ledger.flush(), mcp?.runtime().audit.flush(), tracing?.flush(), capture.flush()]);
    },
  };
}
