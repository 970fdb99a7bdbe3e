import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import { sql, type Kysely } from "kysely";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Logger } from "../../core/logger.ts";
import { BatchedLedgerWriter, blankLedgerRow, kyselyLedgerInsert, type LedgerInsert, type LedgerRow, type LedgerWriterOptions } from "../../ledger/index.ts";
import { migrateToLatest, type Database } from "../../store/index.ts";
import { FileLedgerSpool } from "./ledger-spool.ts";
import { openSqlite, openSqliteLedgerWriter } from "./sqlite.ts";

// The writer's failure paths against a real store: a SQLite file written through the embedded
// store's worker-thread insert (what `gatehouse serve` uses) or the portable Kysely insert (what
// PostgreSQL uses), made to refuse by a trigger (as a full disk would) or to hang (the insert
// waits on a gate), and the real spool on disk. The writer's timers (flush interval, back-off, close deadline)
// run on vitest's fake clock; the spool's disk writes are real and awaited (`spool.settled()`,
// `writer.flush()`), never polled.

function row(i: number): LedgerRow {
  return {
    ...blankLedgerRow({ request_id: `req-${String(i).padStart(7, "0")}`, ts: 1_764_000_000_000 + i, day: "2026-12-01", caller_id: "c1", team: null, provider: "openai", model: "gpt-5", endpoint: "chat", status: 200, outcome: "completed", duration_ms: 12 }),
    input_tokens: 100,
    output_tokens: 20,
    cost_usd: 0.001,
  };
}

/** Heap in use after a full collection: what is retained, not garbage waiting for the collector. */
function retainedHeap(): number {
  v8.setFlagsFromString("--expose-gc");
  (vm.runInNewContext("gc") as () => void)();
  return process.memoryUsage().heapUsed;
}

function countingLogger(): Logger & { lines: Array<{ level: string; message: string }> } {
  const lines: Array<{ level: string; message: string }> = [];
  const push = (level: string) => (_fields: Record<string, unknown>, message: string) => void lines.push({ level, message });
  return { lines, debug: push("debug"), info: push("info"), warn: push("warn"), error: push("error") };
}

/** A migrated SQLite ledger that can be made to refuse inserts or to hang them. */
class SqliteStore {
  readonly db: Kysely<Database>;
  /** Rows per insert call that reached the store. */
  readonly batches: number[] = [];
  /** Every insert's outcome as the writer reports it (onWrite). */
  readonly outcomes: string[] = [];
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  private readonly real: LedgerInsert;

  private constructor(db: Kysely<Database>, real: LedgerInsert) {
    this.db = db;
    this.real = real;
  }

  /** `worker`: the embedded store's insert thread; `kysely`: the portable multi-row insert. */
  static async open(via: "worker" | "kysely", batchSize = 500): Promise<SqliteStore> {
    const file = join(mkdtempSync(join(tmpdir(), "gatehouse-ledger-")), "gatehouse.db");
    const db = openSqlite(file);
    await migrateToLatest(db);
    if (via === "kysely") return new SqliteStore(db, kyselyLedgerInsert(db, batchSize));
    const thread = openSqliteLedgerWriter(file);
    cleanups.push(() => thread.close());
    return new SqliteStore(db, thread.insert);
  }

  async refuse(): Promise<void> {
    await sql`create trigger ledger_full before insert on ledger begin select raise(abort, 'database or disk is full'); end`.execute(this.db);
  }

  async accept(): Promise<void> {
    await sql`drop trigger if exists ledger_full`.execute(this.db);
  }

  /** Inserts from now on wait until `release` (then run against SQLite as usual). */
  hang(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  insert = async (rows: readonly LedgerRow[]): Promise<void> => {
    this.batches.push(rows.length);
    if (this.gate) await this.gate;
    await this.real(rows);
  };

  onWrite = (err: unknown): void => void this.outcomes.push(err === undefined ? "ok" : err instanceof Error ? err.message : String(err));

  async count(): Promise<{ rows: number; distinct: number }> {
    const result = await sql<{ rows: number; distinct: number }>`select count(*) as "rows", count(distinct request_id) as "distinct" from ledger`.execute(this.db);
    return result.rows[0] as { rows: number; distinct: number };
  }

  writer(options: Partial<LedgerWriterOptions> & Pick<LedgerWriterOptions, "batchSize" | "logger">): BatchedLedgerWriter {
    // The insert deadline is far off: the fake clock runs ahead of the worker thread's real
    // answers (writer.test.ts tests the deadline itself).
    return new BatchedLedgerWriter(this.db, { flushMs: 5, writeTimeoutMs: 3_600_000, insert: this.insert, onWrite: this.onWrite, ...options });
  }
}

const spoolDir = () => mkdtempSync(join(tmpdir(), "gatehouse-spool-"));
const cleanups: Array<() => Promise<void>> = [];

/**
 * Flushes until nothing waits: a flush already in flight (started by a full batch while the
 * store still refused) is joined by `flush()` and stops at its failure, so one more may be
 * needed. Bounded: each round is an awaited write, never a sleep.
 */
async function drained(writer: BatchedLedgerWriter): Promise<void> {
  for (let round = 0; round < 3 && writer.queued + writer.stats().spooled > 0; round++) await writer.flush();
}

/**
 * Waits until the store has refused at least once: the worker thread answers on its own time,
 * so an insert sent before `accept()` could otherwise still be unanswered (and then succeed).
 */
async function refusedOnce(writer: BatchedLedgerWriter): Promise<void> {
  await writer.flush();
  expect(writer.stats().failedWrites).toBeGreaterThan(0);
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(async () => {
  vi.useRealTimers();
  for (const close of cleanups.splice(0)) await close();
});

describe("ledger writer with a failing store", { timeout: 120_000 }, () => {
  it("keeps memory at its bound while the store refuses: rows past it go to the disk, retries send one batch", async () => {
    const store = await SqliteStore.open("worker");
    await store.refuse();
    const logger = countingLogger();
    const spool = new FileLedgerSpool({ dir: spoolDir(), logger, maxBytes: 1024 * 1024 * 1024, segmentRows: 5_000 });
    const writer = store.writer({ batchSize: 500, maxPending: 2_000, maxRetryMs: 200, logger, spool });
    const N = 60_000;
    let mostQueued = 0;
    const heapBefore = retainedHeap();
    for (let i = 0; i < N; i++) {
      writer.record(row(i));
      mostQueued = Math.max(mostQueued, writer.queued);
      if (i % 1_000 === 999) {
        // Traffic arrives over time: the spool's appends reach the disk and the back-off
        // timer retries meanwhile (a burst faster than the disk would hit the write buffer bound).
        await spool.settled();
        await vi.advanceTimersByTimeAsync(200);
      }
    }
    await spool.settled();
    const heapGrowth = retainedHeap() - heapBefore;
    // 60,000 rows held in memory are about 25 MB (measured with the bound lifted); 2,000 are under 1 MB.
    expect(heapGrowth).toBeLessThan(8 * 1024 * 1024);
    expect(mostQueued).toBe(2_000);
    expect(writer.stats()).toMatchObject({ queued: 2_000, spooled: N - 2_000, dropped: 0 });
    expect(writer.stats().failingSince).toBeTypeOf("number");
    // Retried on the back-off timer, at most once per 200 ms advanced (not per batch's worth of
    // rows recorded), each try one batch, never the backlog.
    expect(store.batches.length).toBeGreaterThanOrEqual(2);
    expect(store.batches.length).toBeLessThanOrEqual(61);
    expect(Math.max(...store.batches)).toBe(500);
    expect(store.outcomes.every((o) => o.includes("database or disk is full"))).toBe(true);
    expect(writer.stats().failedWrites).toBe(store.outcomes.length);
    // One line per distinct failure, not one per retry.
    expect(logger.lines.filter((l) => l.message.startsWith("ledger write failed")).length).toBeLessThanOrEqual(3);
    const closing = writer.close(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(await closing).toMatchObject({ spooled: N, lost: 0 });
  });

  it("once the store takes rows again, writes the memory queue and every spooled segment exactly once", async () => {
    const dir = spoolDir();
    const store = await SqliteStore.open("worker");
    await store.refuse();
    const logger = countingLogger();
    const spool = new FileLedgerSpool({ dir, logger, maxBytes: 1024 * 1024 * 1024, segmentRows: 1_000 });
    const writer = store.writer({ batchSize: 500, maxPending: 500, maxRetryMs: 200, logger, spool });
    const N = 6_000;
    for (let i = 0; i < N; i++) {
      writer.record(row(i));
      // Appends of 1,000 rows: a segment closes at 1,000.
      if (i % 1_000 === 999) await spool.settled();
    }
    await refusedOnce(writer);
    expect(writer.stats()).toMatchObject({ queued: 500, spooled: N - 500, dropped: 0 });
    expect(readdirSync(dir).length).toBeGreaterThanOrEqual(5);

    await store.accept();
    const tried = store.batches.length;
    // One flush writes the memory queue, then every spooled segment, oldest first.
    await drained(writer);
    expect(await store.count()).toEqual({ rows: N, distinct: N });
    expect(writer.stats()).toMatchObject({ queued: 0, spooled: 0, dropped: 0, failingSince: undefined });
    expect(readdirSync(dir)).toEqual([]);
    expect(store.batches.slice(tried).every((n) => n <= 500)).toBe(true);
    // The store's health heard the recovery (readiness, budgets).
    expect(store.outcomes.at(-1)).toBe("ok");
    expect(logger.lines.some((l) => l.message === "ledger writes recovered")).toBe(true);
    expect(await writer.close()).toEqual({ spooled: 0, spoolFile: undefined, lost: 0 });
  });

  it("drops and counts rows past the spool's bound, says so in the log once, and writes the rows it kept", async () => {
    const store = await SqliteStore.open("worker");
    await store.refuse();
    const logger = countingLogger();
    const spool = new FileLedgerSpool({ dir: spoolDir(), logger, maxBytes: 200 * 1024 });
    const writer = store.writer({ batchSize: 100, maxPending: 100, logger, spool });
    for (let i = 0; i < 5_000; i++) writer.record(row(i));
    const held = writer.queued + spool.rows;
    expect(writer.dropped).toBe(5_000 - held);
    expect(writer.dropped).toBeGreaterThan(3_000);
    expect(logger.lines.filter((l) => l.message.startsWith("ledger row dropped")).length).toBe(1);
    await refusedOnce(writer);
    await store.accept();
    await drained(writer);
    expect(await store.count()).toEqual({ rows: held, distinct: held });
    expect(await writer.close()).toEqual({ spooled: 0, spoolFile: undefined, lost: 5_000 - held });
  });

  it("spools what the store refused by the shutdown deadline; the next start replays it; a torn line is counted", async () => {
    const dir = spoolDir();
    const store = await SqliteStore.open("kysely", 50);
    await store.refuse();
    const first = store.writer({ batchSize: 50, logger: countingLogger(), spool: new FileLedgerSpool({ dir, logger: countingLogger(), maxBytes: 1e9 }) });
    for (let i = 0; i < 300; i++) first.record(row(i));
    const closing = first.close(300);
    await vi.advanceTimersByTimeAsync(300);
    const result = await closing;
    expect(result).toMatchObject({ spooled: 300, lost: 0 });
    expect(
      readFileSync(result.spoolFile as string, "utf8")
        .trim()
        .split("\n"),
    ).toHaveLength(300);
    // A crash mid-append leaves half a line behind.
    appendFileSync(join(dir, "999999999999999-1-000000.ndjson"), `${JSON.stringify(row(300))}\n{"request_id":"torn`);

    await store.accept();
    const logger = countingLogger();
    const spool = new FileLedgerSpool({ dir, logger, maxBytes: 1e9 });
    expect(spool.rows).toBe(302);
    const second = store.writer({ batchSize: 50, logger, spool });
    await drained(second);
    expect(await store.count()).toEqual({ rows: 301, distinct: 301 });
    expect(second.dropped).toBe(1);
    expect(readdirSync(dir)).toEqual([]);
    expect(await second.close()).toEqual({ spooled: 0, spoolFile: undefined, lost: 1 });
  });

  it("returns at the deadline while an insert hangs, spools every row not confirmed, and the next start writes each once", async () => {
    const dir = spoolDir();
    const store = await SqliteStore.open("kysely", 50);
    store.hang();
    const first = store.writer({ batchSize: 50, maxPending: 100, writeTimeoutMs: 60_000, logger: countingLogger(), spool: new FileLedgerSpool({ dir, logger: countingLogger(), maxBytes: 1e9 }) });
    for (let i = 0; i < 300; i++) first.record(row(i));
    // The first batch is in flight and hangs; 100 rows wait in memory, 200 went to the spool.
    expect(store.batches).toEqual([50]);
    const closing = first.close(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    // The in-flight batch is spooled as well: the store has not said it took it.
    const result = await closing;
    expect(result).toMatchObject({ spooled: 300, lost: 0 });
    expect(
      readdirSync(dir)
        .map((f) => readFileSync(join(dir, f), "utf8").trim().split("\n").length)
        .reduce((a, b) => a + b, 0),
    ).toBe(300);

    // The hung insert lands after all: its 50 rows are in the store, and the closed writer
    // starts nothing more (the spool stays for the next start).
    store.release();
    // Joins the late round (its insert answered, it would go on to the spool) and waits for it.
    await first.flush();
    expect(await store.count()).toEqual({ rows: 50, distinct: 50 });
    expect(store.batches).toEqual([50]);
    expect(first.stats().spooled).toBe(300);

    const spool = new FileLedgerSpool({ dir, logger: countingLogger(), maxBytes: 1e9 });
    expect(spool.rows).toBe(300);
    const second = store.writer({ batchSize: 50, logger: countingLogger(), spool });
    await drained(second);
    expect(await store.count()).toEqual({ rows: 300, distinct: 300 });
    expect(readdirSync(dir)).toEqual([]);
    expect(await second.close()).toEqual({ spooled: 0, spoolFile: undefined, lost: 0 });
  });

  it("counts every row lost, exactly, when the spool's disk fails too", async () => {
    const dir = spoolDir();
    const store = await SqliteStore.open("worker");
    await store.refuse();
    const spool = new FileLedgerSpool({ dir, logger: countingLogger(), maxBytes: 1e9 });
    // The disk goes away under the spool.
    rmSync(dir, { recursive: true });
    const writer = store.writer({ batchSize: 50, maxPending: 100, logger: countingLogger(), spool });
    for (let i = 0; i < 300; i++) writer.record(row(i));
    const closing = writer.close(300);
    await vi.advanceTimersByTimeAsync(300);
    expect(await closing).toEqual({ spooled: 0, spoolFile: undefined, lost: 300 });
    expect(writer.stats()).toMatchObject({ queued: 0, spooled: 0, dropped: 300 });
  });

  it("spools a row recorded after close, and the next start writes it", async () => {
    const dir = spoolDir();
    const store = await SqliteStore.open("worker");
    const first = store.writer({ batchSize: 50, logger: countingLogger(), spool: new FileLedgerSpool({ dir, logger: countingLogger(), maxBytes: 1e9 }) });
    expect(await first.close(1_000)).toEqual({ spooled: 0, spoolFile: undefined, lost: 0 });
    // A request that ended after the shutdown (a relay closing late).
    first.record(row(7));
    expect(first.stats()).toMatchObject({ queued: 0, spooled: 1, dropped: 0 });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(store.batches).toEqual([]);

    const second = store.writer({ batchSize: 50, logger: countingLogger(), spool: new FileLedgerSpool({ dir, logger: countingLogger(), maxBytes: 1e9 }) });
    await drained(second);
    expect(await store.count()).toEqual({ rows: 1, distinct: 1 });
  });
});
