import { serve, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { createApp } from "../../src/core/app.ts";
import type { Authenticator, HeaderReader } from "../../src/core/auth.ts";
import { extractClientToken } from "../../src/core/auth.ts";
import type { Caller } from "../../src/core/caller.ts";
import type { AppDeps } from "../../src/core/deps.ts";
import { GatewayError } from "../../src/core/errors.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { systemClock, type Clock } from "../../src/core/clock.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { ConfigHolder, orgConfigSchema } from "../../src/config/index.ts";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { migrateToLatest } from "../../src/store/index.ts";
import { createMcpModule, type McpModuleOptions, type McpRuntime } from "../../src/mcp/index.ts";

/** Several users for one test: token → caller. Stands in for identity's JWT authenticator. */
export class TokenTableAuthenticator implements Authenticator {
  constructor(private readonly callers: Record<string, Caller>) {}

  async authenticate(headers: HeaderReader): Promise<Caller> {
    const token = extractClientToken(headers);
    if (!token) throw new GatewayError("unauthenticated", "Missing gateway token.");
    const caller = Object.hasOwn(this.callers, token) ? this.callers[token] : undefined;
    if (!caller) throw new GatewayError("unauthenticated", "Invalid gateway token.");
    return caller;
  }
}

export function caller(id: string, groups: string[]): Caller {
  return { id, email: `${id}@example.com`, groups, team: groups[0], tokenId: undefined };
}

export interface RunningPortal {
  url: string;
  origin: string;
  deps: AppDeps;
  runtime: McpRuntime;
  close(): Promise<void>;
}

export async function startPortal(options: McpModuleOptions & { authenticator: Authenticator; secrets?: Record<string, string>; clock?: Clock; config?: ConfigHolder }): Promise<RunningPortal> {
  const db = openSqlite(":memory:");
  await migrateToLatest(db);
  const secrets = options.secrets ?? {};
  const deps: AppDeps = {
    settings: parseSettings({}),
    logger: silentLogger,
    clock: options.clock ?? systemClock,
    db,
    config: options.config ?? new ConfigHolder(orgConfigSchema.parse({})),
    authenticator: options.authenticator,
    secrets: { get: (name) => (Object.hasOwn(secrets, name) ? secrets[name] : undefined) },
  };
  const module = createMcpModule(options);
  const app = createApp(deps, [module]);
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/mcp`,
    origin,
    deps,
    runtime: module.runtime(),
    async close() {
      await module.runtime().close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.destroy();
    },
  };
}
