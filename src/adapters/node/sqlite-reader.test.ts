import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usageSummary } from "../../ledger/index.ts";
import { migrateToLatest } from "../../store/index.ts";
import { openSqlite, sqliteLedgerInsert } from "./sqlite.ts";
import { openSqliteReader } from "./sqlite-reader.ts";

const file = join(mkdtempSync(join(tmpdir(), "gatehouse-reader-")), "gatehouse.db");
const db = openSqlite(file);
let reader: ReturnType<typeof openSqliteReader>;

const row = (i: number) => ({
  request_id: `r-${i}`, ts: 1_795_000_000_000 + i, day: "2026-11-24", caller_id: `c-${i % 3}`, team: "eng", provider: i % 2 ? "openai" : "anthropic", model: "m", endpoint: "chat",
  streamed: 0, status: 200, outcome: "completed" as const, input_tokens: 10, output_tokens: 5, cache_read_tokens: 1, cache_write_5m_tokens: 0, cache_write_1h_tokens: 0,
  reasoning_tokens: 0, cost_usd: 0.25, unpriced: 0, upstream_latency_ms: 1, ttfb_ms: 1, duration_ms: 2, error_code: null, requested_model: "m", attempts: 1,
});

beforeAll(async () => {
  await migrateToLatest(db);
  reader = openSqliteReader(file);
});
afterAll(async () => {
  await reader.close();
  await db.destroy();
});

describe("the analytics reader (worker thread)", () => {
  it("answers the same aggregates as the main connection, and sees rows committed after it opened", async () => {
    await sqliteLedgerInsert(db)?.(Array.from({ length: 30 }, (_, i) => row(i)));
    const query = { groupBy: ["provider"] as const, since: "2026-11-01", until: "2026-11-30" };
    const viaReader = await usageSummary(reader.db, { ...query, groupBy: [...query.groupBy] });
    const viaMain = await usageSummary(db, { ...query, groupBy: [...query.groupBy] });
    expect(viaReader).toEqual(viaMain);
    expect(viaReader.reduce((n, r) => n + r.requests, 0)).toBe(30);
  });

  it("refuses writes with a clear error", async () => {
    await expect(reader.db.deleteFrom("ledger").execute()).rejects.toThrow(/read-only/);
    expect((await db.selectFrom("ledger").select("request_id").execute()).length).toBe(30);
  });
});
