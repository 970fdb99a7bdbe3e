import { Kysely } from "kysely";
import type { Authenticator } from "../../core/auth.ts";
import { systemClock } from "../../core/clock.ts";
import type { SecretSource } from "../../core/deps.ts";
import { parseSettings, type Settings } from "../../core/settings.ts";
import { ConfigHolder, orgConfigSchema, type OrgConfig } from "../../config/index.ts";
import { createBundledCatalog, type Catalog } from "../../catalog/index.ts";
import { composeGateway, DisposerStack, type ComposedGateway } from "../../gateway/index.ts";
import { AnonymousIds, createIdentity, type Identity } from "../../identity/index.ts";
import type { BatchedLedgerWriter } from "../../ledger/index.ts";
import { StoreHealth } from "../../store/health.ts";
import type { Database } from "../../store/index.ts";
import type { ExecutionContext, ScheduledController, WorkerEnv } from "./bindings.ts";
import { KvCatalogFollower, refreshCatalogToKv } from "./catalog-kv.ts";
import { DurableCounterStore, DurableRateLimiter } from "./counters-client.ts";
import { workerDashboardAssets } from "./dashboard-assets.ts";
import { D1Dialect, d1LedgerInsert } from "./d1-dialect.ts";
import { WorkerDevAuthenticator } from "./dev-auth.ts";
import { KvAnonymousIdCache } from "./identity-kv.ts";
import { createConsoleLogger } from "./logger.ts";
import { migrateD1 } from "./migrate-d1.ts";
import { createFetchTransport } from "./transport.ts";

export { GatehouseCounters } from "./counters-durable-object.ts";

/** D1 allows 100 bound parameters per statement: 3 ledger rows of 25 columns fit. */
const D1_LEDGER_BATCH = 3;

interface Runtime {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response>;
  settings: Settings;
  catalog: Catalog;
  catalogFollower: KvCatalogFollower;
  ledger: BatchedLedgerWriter;
  /** The mounted modules, in order (the same list as on Node). */
  modules: readonly string[];
}

/** Built once per isolate (the first request), then reused while the isolate lives. */
let runtime: Promise<Runtime> | undefined;

function stringVars(env: WorkerEnv): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) if (typeof value === "string") out[name] = value;
  return out;
}

function parseOrgConfig(text: string | undefined): OrgConfig {
  if (!text) return orgConfigSchema.parse({});
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`GATEHOUSE_ORG_CONFIG is not valid JSON (build it with \`gatehouse config build\`): ${err instanceof Error ? err.message : String(err)}`);
  }
  const result = orgConfigSchema.safeParse(raw);
  if (!result.success) throw new Error(`GATEHOUSE_ORG_CONFIG is invalid:\n${result.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`).join("\n")}`);
  return result.data;
}

/**
 * One isolate's gateway: the Workers parts (D1, KV, the counters Durable Object, fetch) handed
 * to the same composition as Node's (src/gateway). What Workers cannot offer is `undefined`
 * there: no spool (no disk), no MCP portal (docs/deploy.md#what-runs-on-workers).
 */
async function build(env: WorkerEnv): Promise<Runtime> {
  const vars = stringVars(env);
  const settings = parseSettings(vars, { ledgerBatchSize: D1_LEDGER_BATCH });
  const logger = createConsoleLogger(settings.logLevel);
  const clock = systemClock;
  const db = new Kysely<Database>({ dialect: new D1Dialect(env.DB) });
  await migrateD1(db);
  const config = new ConfigHolder(parseOrgConfig(vars["GATEHOUSE_ORG_CONFIG"]));
  // Provider keys are Worker secrets; only names the config asks for are ever read.
  const secrets: SecretSource = { get: (name) => vars[name] };

  const catalog = createBundledCatalog();
  const catalogFollower = new KvCatalogFollower(env.CACHE, catalog, logger);
  await catalogFollower.maybeUpdate(clock.now());

  // Anonymous ids: D1 decides (unique email), KV caches them for every isolate.
  const anonymousIdCache = new KvAnonymousIdCache(env.CACHE, logger);
  let authenticator: Authenticator;
  let identity: Identity | undefined;
  if (settings.authMode === "dev") {
    // A Worker is always reachable from the internet: dev mode must be asked for explicitly.
    if (!settings.allowDevAuth) throw new Error("GATEHOUSE_AUTH_MODE=dev on Workers needs GATEHOUSE_ALLOW_DEV_AUTH=true (local testing only); use jwt behind Cloudflare Access.");
    if (!settings.devToken) throw new Error("GATEHOUSE_AUTH_MODE=dev needs GATEHOUSE_DEV_TOKEN (a Worker secret).");
    authenticator = new WorkerDevAuthenticator(settings.devToken, new AnonymousIds(db, clock, undefined, anonymousIdCache));
  } else {
    identity = createIdentity(settings, { db, clock, logger, anonymousIdCache });
    authenticator = identity.authenticator;
  }

  const counters = new DurableCounterStore(env.COUNTERS, () => clock.now(), logger);
  // Rate windows in the same object: one limit for every isolate and location.
  const rates = new DurableRateLimiter(env.COUNTERS, logger);
  // Bound after composing: the transport's end-of-stream work needs the composed ledger.
  let gateway: ComposedGateway | undefined;
  const transport = createFetchTransport({
    afterResponse: async () => {
      await Promise.all([counters.idle(), rates.idle()]);
      await gateway?.settled();
    },
  });
  // An isolate is never shut down: the stack only closes what a failed build opened.
  const disposers = new DisposerStack(logger);
  try {
    gateway = await composeGateway({
      settings,
      logger,
      clock,
      db,
      analyticsDb: undefined,
      config,
      secrets,
      storeHealth: new StoreHealth(() => clock.now()),
      catalog,
      authenticator,
      identity,
      transport,
      policy: undefined,
      observers: [],
      counters,
      rates,
      // The counters object is the durable, exact truth for every isolate: nothing to reconcile.
      reconcile: undefined,
      // D1 binds at most 100 values per statement: the insert splits batches to fit.
      ledger: { spool: undefined, insert: d1LedgerInsert(db, settings.ledgerBatchSize) },
      dashboardAssets: workerDashboardAssets(),
      // Not mounted: the portal keeps upstream connections and sessions across requests, and a
      // Worker may not use one request's I/O (a fetch, its abort signal) from another (docs/deploy.md).
      mcp: undefined,
      instrument: undefined,
      // Set by Cloudflare's edge, not by the client.
      clientAddress: (c) => c.req.header("cf-connecting-ip"),
      extraModules: [],
      disposers,
    });
  } catch (err) {
    await disposers.disposeAll();
    throw err;
  }
  const composed = gateway;

  return {
    settings,
    catalog,
    catalogFollower,
    ledger: composed.ledger,
    modules: composed.modules,
    async fetch(request, workerEnv, ctx) {
      const response = await composed.app.fetch(request, workerEnv, ctx);
      // Rows of requests that were refused before forwarding are queued by now; streamed
      // answers flush from the transport when their stream ends. A refusal may have given
      // rate holds back (a call to the counters object) that must finish too; MCP tool calls
      // leave audit rows.
      ctx.waitUntil(Promise.all([rates.idle(), composed.settled()]));
      return response;
    },
  };
}

/** Messages of an error and its causes (no stacks: they may quote upstream text). */
function errorChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e !== undefined && parts.length < 5; e = e instanceof Error ? e.cause : undefined) parts.push(e instanceof Error ? e.message : String(e));
  return parts.join(" <- ");
}

function getRuntime(env: WorkerEnv): Promise<Runtime> {
  runtime ??= build(env).catch((err: unknown) => {
    // The next request tries again (a transient D1 error must not poison the isolate).
    runtime = undefined;
    throw err;
  });
  return runtime;
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    let rt: Runtime;
    try {
      rt = await getRuntime(env);
    } catch (err) {
      const requestId = crypto.randomUUID();
      console.error(JSON.stringify({ level: "error", msg: "gateway failed to start", err: errorChain(err), requestId }));
      return Response.json({ error: { code: "internal", message: "The gateway is misconfigured; see the worker's logs.", requestId } }, { status: 500 });
    }
    ctx.waitUntil(rt.catalogFollower.maybeUpdate(Date.now()));
    return rt.fetch(request, env, ctx);
  },

  /**
   * Cron trigger (hourly, see wrangler.jsonc): refresh the catalog once for the whole
   * deployment, and drop the counters object's finished rate windows and expired reservations.
   */
  async scheduled(_controller: ScheduledController, env: WorkerEnv, ctx: ExecutionContext): Promise<void> {
    const vars = stringVars(env);
    const settings = parseSettings(vars);
    const logger = createConsoleLogger(settings.logLevel);
    const now = Date.now();
    ctx.waitUntil(refreshCatalogToKv(env.CACHE, createBundledCatalog(), settings.catalogUrl, logger, now));
    const rates = new DurableRateLimiter(env.COUNTERS, logger);
    rates.prune(now);
    ctx.waitUntil(rates.idle());
  },
};
