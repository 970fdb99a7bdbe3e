import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usageSummary } from "../../ledger/index.ts";
import { migrateToLatest } from "../../store/index.ts";
import { openSqlite, openSqliteLedgerWriter } from "./sqlite.ts";
import { openSqliteReader } from "./sqlite-reader.ts";

const file = join(mkdtempSync(join(tmpdir(), "gatehouse-reader-")), "gatehouse.db");
const db = openSqlite(file);
let reader: ReturnType<typeof openSqliteReader>;
let writer: ReturnType<typeof openSqliteLedgerWriter>;

const row = (i: number) => ({
  request_id: `r-${i}`,
  ts: 1_795_000_000_000 + i,
  day: "2026-11-24",
  caller_id: `c-${i % 3}`,
  team: "eng",
  provider: i % 2 ? "openai" : "anthropic",
  model: "m",
  endpoint: "chat",
  streamed: 0,
  status: 200,
  outcome: "completed" as const,
  input_tokens: 10,
  output_tokens: 5,
  cache_read_tokens: 1,
  cache_write_5m_tokens: 0,
  cache_write_1h_tokens: 0,
  reasoning_tokens: 0,
  cost_usd: 0.25,
  unpriced: 0,
  upstream_latency_ms: 1,
  ttfb_ms: 1,
  duration_ms: 2,
  error_code: null,
  requested_model: "m",
  attempts: 1,
  estimated: 0,
});

beforeAll(async () => {
  await migrateToLatest(db);
  reader = openSqliteReader(file);
  writer = openSqliteLedgerWriter(file);
});
afterAll(async () => {
  await reader.close();
  await writer.close();
  await db.destroy();
});

describe("the ledger writer and the analytics reader (worker threads)", () => {
  it("the writer commits a batch before it resolves, and a row written twice stays one row", async () => {
    await writer.insert(Array.from({ length: 20 }, (_, i) => row(i)));
    await writer.insert(Array.from({ length: 30 }, (_, i) => row(i)));
    const rows = await db.selectFrom("ledger").selectAll().orderBy("ts").execute();
    expect(rows).toHaveLength(30);
    expect(rows[7]).toMatchObject({ request_id: "r-7", caller_id: "c-1", provider: "openai", input_tokens: 10, cost_usd: 0.25, error_code: null, attempts: 1 });
  });

  it("the reader answers the same aggregates as the main connection, and sees rows committed after it opened", async () => {
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
