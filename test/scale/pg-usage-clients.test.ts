import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore } from "../../src/adapters/node/postgres.ts";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { clientsReport } from "../../src/dashboard/clients.ts";
import { usageSummary, type LedgerRow } from "../../src/ledger/index.ts";
import { migrateToLatest, type Database } from "../../src/store/index.ts";
import { ledgerRow } from "../support/policy.ts";
import { startTestDatabase, type TestDatabase } from "./postgres.ts";

/**
 * The per-client and per-session usage queries (gatehouse usage --by client,session and the
 * dashboard's client, session and cache sections) are portable SQL: the same rows give the
 * same answers on the embedded SQLite store and on a real PostgreSQL.
 */

const day = "2026-11-30";
const ts = Date.parse(`${day}T10:00:00Z`);
const rows: LedgerRow[] = [
  ...Array.from({ length: 3 }, (_, i) => ledgerRow({ ts: ts + i, day, caller_id: "u1", client: "claude-code", client_version: "2.1.332", session_id: "s1", provider: "anthropic", model: "claude-sonnet-4-5", input_tokens: 100, cache_read_tokens: 900, cache_write_5m_tokens: 100, output_tokens: 10, cost_usd: 0.001 * (i + 1) })),
  ledgerRow({ ts, day, caller_id: "u2", client: "claude-code", session_id: "s1", model: "claude-haiku-4-5", input_tokens: 10, output_tokens: 1, cost_usd: 0.0001 }),
  ledgerRow({ ts, day, caller_id: "u1", client: "codex", session_id: "cx", provider: "openai", model: "gpt-6.2-sol", input_tokens: 500, cache_read_tokens: 500, output_tokens: 40, unpriced: 1 }),
  ledgerRow({ ts, day, caller_id: "u1", client: "codex", session_id: "cx", provider: "openai", model: "gpt-5", input_tokens: 300, output_tokens: 20, cost_usd: 0.0006 }),
  ledgerRow({ ts, day, caller_id: "u3", client: null, session_id: null, input_tokens: 1, output_tokens: 1, cost_usd: 0.00001 }),
];

/** Sums of doubles may differ in the last bits by summation order: compare to 12 decimals. */
function rounded<T>(value: T): T {
  return JSON.parse(JSON.stringify(value), (_key, v: unknown) => (typeof v === "number" ? Math.round(v * 1e12) / 1e12 : v)) as T;
}

let pg: TestDatabase;
let pgDb: Kysely<Database>;
let sqliteDb: Kysely<Database>;
let dir: string;

beforeAll(async () => {
  pg = await startTestDatabase();
  pgDb = await openPostgresStore(pg.url);
  dir = mkdtempSync(join(tmpdir(), "gatehouse-usage-clients-"));
  sqliteDb = openSqlite(join(dir, "gatehouse.db"));
  await migrateToLatest(sqliteDb);
  for (const db of [pgDb, sqliteDb]) await db.insertInto("ledger").values(rows).execute();
}, 180_000);

afterAll(async () => {
  await pgDb?.destroy();
  await pg?.close();
  await sqliteDb?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("per-client usage on PostgreSQL and SQLite", { timeout: 120_000 }, () => {
  it("gatehouse usage --by client,session gives the same figures on both", async () => {
    const query = { groupBy: ["client", "session"] as const, since: day, until: day };
    const [onPg, onSqlite] = await Promise.all([usageSummary(pgDb, { ...query, groupBy: [...query.groupBy] }), usageSummary(sqliteDb, { ...query, groupBy: [...query.groupBy] })]);
    expect(rounded(onPg)).toEqual(rounded(onSqlite));
    const cc = onPg.find((r) => r.keys.client === "claude-code");
    expect(cc).toMatchObject({ requests: 4, inputTokens: 310, cacheReadTokens: 2700, cacheWriteTokens: 300, unpricedRequests: 0 });
    expect(cc?.cacheHitRate).toBeCloseTo(2700 / 3310, 12);
    expect(onPg.find((r) => r.keys.client === "codex")).toMatchObject({ requests: 2, unpricedRequests: 1 });
    expect(onPg.find((r) => r.keys.client === undefined)).toMatchObject({ requests: 1, keys: { session: undefined } });
  });

  it("the dashboard's client, session and cache sections give the same answers on both", async () => {
    const [onPg, onSqlite] = await Promise.all([clientsReport(pgDb, { from: day, to: day }), clientsReport(sqliteDb, { from: day, to: day })]);
    expect(rounded(onPg)).toEqual(rounded(onSqlite));
    expect(onPg.sessions.map((s) => [s.key, s.callerId, s.client, s.model, s.otherModels, s.requests])).toEqual([
      ["s1", "u1", "claude-code", "claude-sonnet-4-5", 0, 3],
      ["cx", "u1", "codex", "gpt-5", 1, 2],
      ["s1", "u2", "claude-code", "claude-haiku-4-5", 0, 1],
    ]);
    expect(onPg.sessions[0]?.firstTs).toBe(ts);
    expect(onPg.sessions[0]?.lastTs).toBe(ts + 2);
    expect(onPg.cache.clients.map((c) => c.key)).toEqual(["claude-code", "codex", "(not recorded)"]);
    expect(onPg.cacheTotal.cacheHitRate).toBeCloseTo((2700 + 500) / (310 + 2700 + 300 + 1000 + 300 + 1), 12);
  });
});
