import type { Kysely } from "kysely";
import type { Database } from "../store/index.ts";
import type { ConfigHolder } from "../config/index.ts";
import type { Authenticator } from "./auth.ts";
import type { Clock } from "./clock.ts";
import type { Logger } from "./logger.ts";
import type { Settings } from "./settings.ts";
import type { ReadinessCheck } from "./readiness.ts";

/**
 * Everything the shared app needs from its runtime, built by an adapter (adapters/node,
 * adapters/workers) and handed to createApp. Capabilities take what they need from here;
 * stateful services are interfaces so tests can hand in a real SQLite file and a fixed clock.
 */
export interface AppDeps {
  settings: Settings;
  logger: Logger;
  clock: Clock;
  db: Kysely<Database>;
  /**
   * Where heavy read-only queries (dashboard aggregates) run. On the embedded SQLite store
   * this is a connection in a worker thread, so a month-long scan does not stall the proxy;
   * elsewhere it is `db` itself.
   */
  analyticsDb?: Kysely<Database>;
  config: ConfigHolder;
  authenticator: Authenticator;
  /** Provider keys by env-var name; resolved server-side, never served or logged. */
  secrets: SecretSource;
  /** What `GET /readyz` checks (store, config, catalog…); without it, a query on `db`. */
  readiness?: Readonly<Record<string, ReadinessCheck>>;
}

export interface SecretSource {
  get(name: string): string | undefined;
}
