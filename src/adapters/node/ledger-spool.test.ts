import { mkdtempSync, readdirSync, readFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import { describe, expect, it } from "vitest";
import type { Kysely } from "kysely";
import type { Logger } from "../../core/logger.ts";
import { BatchedLedgerWriter, blankLedgerRow, type LedgerRow } from "../../ledger/index.ts";
import type { Database } from "../../store/index.ts";
import { FileLedgerSpool } from "./ledger-spool.ts";

// The writer never touches `db` when an insert is handed in.
const noDb = undefined as unknown as Kysely<Database>;

function row(i: number): LedgerRow {
  return {
    ...blankLedgerRow({ request_id: `req-${String(i).padStart(7, "0")}`, ts: 1_764_000_000_000 + i, day: "2026-12-01", caller_id: "c1", team: null, provider: "openai", model: "gpt-5", endpoint: "chat", status: 200, outcome: "completed", duration_ms: 12 }),
    input_tokens: 100,
    output_tokens: 20,
    cost_usd: 0.001,
  };
}

/** A store that can be switched off: failing inserts take `failMs` and throw like a full disk. */
/** Heap in use after a full collection: what is retained, not garbage waiting for the collector. */
function retainedHeap(): number {
  v8.setFlagsFromString("--expose-gc");
  (vm.runInNewContext("gc") as () => void)();
  return process.memoryUsage().heapUsed;
}

class FlakyStore {
  readonly rows = new Map<string, LedgerRow>();
  failing = true;
  calls = 0;
  largestBatch = 0;
  constructor(private readonly failMs = 2) {}
  insert = async (batch: readonly LedgerRow[]): Promise<void> => {
    this.calls++;
    this.largestBatch = Math.max(this.largestBatch, batch.length);
    if (this.failing) {
      await new Promise((r) => setTimeout(r, this.failMs));
      throw Object.assign(new Error("ledger write failed: database or disk is full"), { code: "SQLITE_FULL" });
    }
    for (const r of batch) if (!this.rows.has(r.request_id)) this.rows.set(r.request_id, r);
  };
}

function countingLogger(): Logger & { lines: Array<{ level: string; message: string }> } {
  const lines: Array<{ level: string; message: string }> = [];
  const push = (level: string) => (_fields: Record<string, unknown>, message: string) => void lines.push({ level, message });
  return { lines, debug: push("debug"), info: push("info"), warn: push("warn"), error: push("error") };
}

async function until(check: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("ledger writer with a failing store", { timeout: 120_000 }, () => {
  it("keeps memory at its bound, spills to disk, retries one batch at a time, then drains everything exactly once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-spool-"));
    const store = new FlakyStore();
    const logger = countingLogger();
    const spool = new FileLedgerSpool({ dir, logger, maxBytes: 1024 * 1024 * 1024, segmentRows: 5_000 });
    const writer = new BatchedLedgerWriter(noDb, { flushMs: 5, batchSize: 500, maxPending: 2_000, maxRetryMs: 200, insert: store.insert, logger, spool });
    const N = 60_000;
    const heapBefore = retainedHeap();
    for (let i = 0; i < N; i++) {
      writer.record(row(i));
      expect(writer.queued).toBeLessThanOrEqual(2_000);
      // Traffic arrives over time: let the spool's appends and the retries run meanwhile
      // (a burst faster than the disk would hit the spool's write buffer bound instead).
      if (i % 1_000 === 0) await until(() => spool.bufferedBytes < 4 * 1024 * 1024);
    }
    await until(() => spool.rows === N - 2_000 && spool.bufferedBytes === 0);
    const heapGrowth = retainedHeap() - heapBefore;
    // 60,000 rows held in memory are about 25 MB (measured with the bound lifted); 2,000 are under 1 MB.
    expect(heapGrowth).toBeLessThan(8 * 1024 * 1024);
    expect(writer.stats()).toMatchObject({ queued: 2_000, spooled: N - 2_000, dropped: 0 });
    expect(writer.stats().failingSince).toBeTypeOf("number");
    // Every retry sent one batch, never the backlog.
    expect(store.largestBatch).toBeLessThanOrEqual(500);
    // One line per distinct failure, not one per retry.
    expect(logger.lines.filter((l) => l.message.startsWith("ledger write failed")).length).toBeLessThanOrEqual(3);

    store.failing = false;
    await until(() => store.rows.size === N && writer.stats().spooled === 0 && writer.queued === 0);
    expect(store.rows.size).toBe(N);
    expect(readdirSync(dir)).toEqual([]);
    expect(writer.stats().failingSince).toBeUndefined();
    expect(store.largestBatch).toBeLessThanOrEqual(500);
    expect((await writer.close()).spooled).toBe(0);
  });

  it("drops and counts rows past the spool's bound, and says so in the log a few times, not per row", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-spool-"));
    const store = new FlakyStore();
    const logger = countingLogger();
    const spool = new FileLedgerSpool({ dir, logger, maxBytes: 200 * 1024 });
    const writer = new BatchedLedgerWriter(noDb, { flushMs: 5, batchSize: 100, maxPending: 100, insert: store.insert, logger, spool });
    for (let i = 0; i < 5_000; i++) writer.record(row(i));
    const held = writer.queued + spool.rows;
    expect(writer.dropped).toBe(5_000 - held);
    expect(writer.dropped).toBeGreaterThan(3_000);
    expect(logger.lines.filter((l) => l.message.startsWith("ledger row dropped")).length).toBe(1);
    store.failing = false;
    await until(() => store.rows.size === held);
    await writer.close();
  });

  it("without a spool, drops past the memory bound and counts it", async () => {
    const store = new FlakyStore();
    const writer = new BatchedLedgerWriter(noDb, { flushMs: 5, batchSize: 10, maxPending: 50, insert: store.insert, logger: countingLogger() });
    for (let i = 0; i < 80; i++) writer.record(row(i));
    expect(writer.queued).toBe(50);
    expect(writer.dropped).toBe(30);
    const result = await writer.close(50);
    expect(result).toEqual({ spooled: 0, spoolFile: undefined, lost: 80 });
  });

  it("spools what the store did not take by the shutdown deadline; the next start replays it; a torn line is counted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-spool-"));
    const store = new FlakyStore();
    const first = new BatchedLedgerWriter(noDb, { flushMs: 5, batchSize: 50, insert: store.insert, logger: countingLogger(), spool: new FileLedgerSpool({ dir, logger: countingLogger(), maxBytes: 1e9 }) });
    for (let i = 0; i < 300; i++) first.record(row(i));
    const started = Date.now();
    const result = await first.close(300);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.spooled).toBe(300);
    expect(result.lost).toBe(0);
    expect(result.spoolFile).toBeDefined();
    expect(readFileSync(result.spoolFile as string, "utf8").trim().split("\n")).toHaveLength(300);
    // A crash mid-append leaves half a line behind.
    appendFileSync(join(dir, "999999999999999-1-000000.ndjson"), `${JSON.stringify(row(300))}\n{"request_id":"torn`);

    store.failing = false;
    const logger = countingLogger();
    const spool = new FileLedgerSpool({ dir, logger, maxBytes: 1e9 });
    expect(spool.rows).toBe(302);
    const second = new BatchedLedgerWriter(noDb, { flushMs: 5, batchSize: 50, insert: store.insert, logger, spool });
    await second.flush();
    expect(store.rows.size).toBe(301);
    expect(second.dropped).toBe(1);
    expect(readdirSync(dir)).toEqual([]);
    expect(await second.close()).toEqual({ spooled: 0, spoolFile: undefined, lost: 1 });
  });
});
