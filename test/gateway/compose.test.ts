import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Kysely } from "kysely";
import { GatewayError } from "../../src/core/errors.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { systemClock } from "../../src/core/clock.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { ConfigHolder, orgConfigSchema } from "../../src/config/index.ts";
import { createBundledCatalog } from "../../src/catalog/index.ts";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import type { ProxyTransport } from "../../src/proxy/index.ts";
import { InThreadQuickJSExecutor } from "../../src/sandbox/index.ts";
import { StoreHealth } from "../../src/store/health.ts";
import { migrateToLatest, type Database } from "../../src/store/index.ts";
import { composeGateway, DisposerStack, GATEWAY_MODULES, type GatewayParts } from "../../src/gateway/index.ts";

/** These tests never forward a request: a transport that is used is a failed test. */
const unusedTransport: ProxyTransport = {
  head: () => {
    throw new GatewayError("internal", "transport used in a composition test");
  },
  readBody: () => Promise.reject(new GatewayError("internal", "transport used in a composition test")),
  forward: () => Promise.reject(new GatewayError("internal", "transport used in a composition test")),
};

let dir: string | undefined;
let db: Kysely<Database> | undefined;
afterEach(async () => {
  await db?.destroy();
  db = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function parts(overrides: Partial<GatewayParts> = {}): Promise<GatewayParts> {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-compose-"));
  db = openSqlite(join(dir, "gatehouse.db"));
  await migrateToLatest(db);
  const settings = parseSettings({}, { dataDir: dir, authMode: "jwt", jwtJwksUrl: "https://idp.invalid/jwks", jwtIssuer: "https://idp.invalid", jwtAudience: "gatehouse" });
  return {
    settings,
    logger: silentLogger,
    clock: systemClock,
    db,
    analyticsDb: undefined,
    config: new ConfigHolder(orgConfigSchema.parse({ providers: { openai: {} } })),
    secrets: { get: () => undefined },
    storeHealth: new StoreHealth(() => Date.now()),
    catalog: createBundledCatalog(),
    authenticator: { authenticate: () => Promise.reject(new GatewayError("unauthenticated", "no caller in this test")) },
    identity: undefined,
    transport: unusedTransport,
    policy: undefined,
    observers: [],
    counters: undefined,
    rates: undefined,
    reconcile: undefined,
    ledger: { spool: undefined, insert: undefined },
    dashboardAssets: { chartJs: () => Promise.resolve("/* chart */") },
    mcp: { executor: new InThreadQuickJSExecutor(), stdio: undefined },
    instrument: undefined,
    clientAddress: undefined,
    extraModules: [],
    disposers: new DisposerStack(silentLogger),
    ...overrides,
  };
}

describe("composeGateway", () => {
  it("mounts the one module list, in order, and registers its closers for the runtime's stack", async () => {
    const given = await parts();
    given.disposers.push("store (the runtime's)", () => undefined);
    const gateway = await composeGateway(given);
    expect(gateway.modules).toEqual([...GATEWAY_MODULES]);
    // Disposed before what the runtime opened first: MCP, then the sandbox it uses, then governance, then the ledger.
    expect(given.disposers.order()).toEqual(["mcp", "sandbox", "body capture", "governance", "ledger", "store (the runtime's)"]);
    await given.disposers.disposeAll();
    expect(gateway.ledgerCloseResult()).toEqual({ spooled: 0, spoolFile: undefined, lost: 0 });
  });

  it("leaves out what the runtime cannot give: no portal without MCP parts, no sandbox closer without an executor", async () => {
    const given = await parts({ mcp: undefined });
    const gateway = await composeGateway(given);
    expect(gateway.modules).toEqual(GATEWAY_MODULES.filter((m) => m !== "mcp"));
    expect(gateway.mcp).toBeUndefined();
    expect(given.disposers.order()).toEqual(["body capture", "governance", "ledger"]);
    const portal = await gateway.app.fetch(new Request("http://127.0.0.1/mcp", { method: "POST" }));
    expect(portal.status).toBe(404);
    await given.disposers.disposeAll();
  });

  it("readiness turns 'shutting down' on beginShutdown, and /metrics carries the ledger and store series on every runtime", async () => {
    const given = await parts({ instrument: (metrics) => metrics.gauge("runtime_specific_gauge", "from the runtime", () => 7) });
    const gateway = await composeGateway(given);
    const before = await gateway.app.fetch(new Request("http://127.0.0.1/readyz"));
    expect(((await before.json()) as { checks: Record<string, string> }).checks["shutdown"]).toBe("ok");
    gateway.beginShutdown();
    const after = await gateway.app.fetch(new Request("http://127.0.0.1/readyz"));
    expect(after.status).toBe(503);
    expect(((await after.json()) as { checks: Record<string, string> }).checks["shutdown"]).toBe("shutting down");
    const text = gateway.governance.metrics.render();
    for (const series of ["gatehouse_ledger_queued_rows 0", "gatehouse_store_up 1", "gatehouse_caller_concurrency_limit", "runtime_specific_gauge 7"]) expect(text).toContain(series);
    await given.disposers.disposeAll();
  });
});
