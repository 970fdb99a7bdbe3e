import { loadOrCreateSigningKey } from "../../src/adapters/node/identity/index.ts";
import { systemClock } from "../../src/core/clock.ts";
import { AnonymousIds, TokenIssuer } from "../../src/identity/index.ts";
import { startHarness, type Harness } from "../gateway/harness.ts";

export interface ApiAnswer {
  status: number;
  headers: Headers;
  // JSON bodies only: every admin answer is JSON.
  body: Record<string, unknown>;
}

export interface AdminHarness extends Harness {
  /** A Gatehouse token (dev mode, signed with the gateway's key) for an email and groups. */
  token(email: string, groups: readonly string[]): Promise<string>;
  /** One admin API call; records the method and path for the coverage check. */
  api(method: string, path: string, options?: { token?: string | undefined; body?: unknown; headers?: Record<string, string> }): Promise<ApiAnswer>;
  /** Every `METHOD path` the tests called through `api` (the path as sent, without the query). */
  called: Set<string>;
}

/** A real gateway (SQLite, node:http, dev mode) whose admin API the tests call over HTTP. */
export async function startAdminHarness(settingsEnv: Record<string, string> = {}, extraConfig: readonly string[] = []): Promise<AdminHarness> {
  const h = await startHarness({}, settingsEnv, extraConfig);
  const settings = h.gateway.deps.settings;
  const key = await loadOrCreateSigningKey(settings);
  const issuer = new TokenIssuer(key, h.gateway.deps.db, systemClock);
  const ids = new AnonymousIds(h.gateway.deps.db, systemClock);
  const called = new Set<string>();
  return {
    ...h,
    called,
    async token(email, groups) {
      return (await issuer.issue({ email, callerId: await ids.idFor(email), groups, source: "cli", ttlSeconds: 3600 })).token;
    },
    async api(method, path, options = {}) {
      called.add(`${method.toUpperCase()} ${path.split("?")[0]}`);
      const headers: Record<string, string> = { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers };
      if (options.body !== undefined) headers["content-type"] ??= "application/json";
      const res = await fetch(`${h.gateway.url}${path}`, { method, headers, ...(options.body !== undefined ? { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) } : {}) });
      const text = await res.text();
      let body: Record<string, unknown> = {};
      if (text) body = JSON.parse(text) as Record<string, unknown>;
      return { status: res.status, headers: res.headers, body };
    },
  };
}
