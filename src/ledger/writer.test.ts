import type { Kysely } from "kysely";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Logger } from "../core/logger.ts";
import type { Database } from "../store/index.ts";
import { blankLedgerRow } from "./row.ts";
import type { LedgerSpool, SpoolSegment } from "./spool.ts";
import { BatchedLedgerWriter, type LedgerRow, type LedgerWriterOptions } from "./writer.ts";

// Every test here runs on vitest's fake clock: the flush interval, the retry back-off, the
// insert deadline and the close deadline are advanced, never waited for.

// The writer never touches `db` when an insert is handed in.
const noDb = undefined as unknown as Kysely<Database>;
const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);

function row(i: number): LedgerRow {
  return blankLedgerRow({ request_id: `req-${String(i).padStart(5, "0")}`, ts: T0 + i, day: "2026-12-01", caller_id: "c1", team: null, provider: "openai", model: "gpt-5", endpoint: "chat", status: 200, outcome: "completed", duration_ms: 12 });
}

/**
 * A store keyed on request_id like the real ones (a row written twice stays one), that can
 * refuse (rejects at once, like SQLITE_FULL) or hang (answers only when released).
 */
class Store {
  readonly rows = new Map<string, LedgerRow>();
  mode: "up" | "refuse" | "hang" = "up";
  /** Fake-clock time of every insert call, and its batch size. */
  readonly calls: Array<{ at: number; rows: number }> = [];
  private readonly hung: Array<() => void> = [];

  insert = (batch: readonly LedgerRow[]): Promise<void> => {
    this.calls.push({ at: Date.now() - T0, rows: batch.length });
    const write = () => {
      for (const r of batch) if (!this.rows.has(r.request_id)) this.rows.set(r.request_id, r);
    };
    if (this.mode === "refuse") return Promise.reject(Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" }));
    if (this.mode === "hang") return new Promise<void>((resolve) => this.hung.push(() => (write(), resolve())));
    write();
    return Promise.resolve();
  };

  /** The hung inserts land after all (the connection came back). */
  release(): void {
    for (const land of this.hung.splice(0)) land();
  }
}

/**
 * A spool whose disk answers when told: appended rows are in flight until `land()`. The
 * adapter's file spool is tested against a real disk in adapters/node/ledger-spool.test.ts.
 */
class SlowDiskSpool implements LedgerSpool {
  readonly onDisk: LedgerRow[] = [];
  readonly inFlight: LedgerRow[] = [];
  readonly lost = 0;
  private flight: { done: Promise<void>; land: () => void } | undefined;

  append(row: LedgerRow): boolean {
    this.inFlight.push(row);
    if (!this.flight) {
      let land = () => {};
      const done = new Promise<void>((resolve) => (land = resolve));
      this.flight = { done, land };
    }
    return true;
  }

  land(): void {
    this.onDisk.push(...this.inFlight.splice(0));
    this.flight?.land();
    this.flight = undefined;
  }

  settled(): Promise<void> {
    return this.flight?.done ?? Promise.resolve();
  }

  get rows(): number {
    return this.onDisk.length + this.inFlight.length;
  }

  oldest(): Promise<SpoolSegment | undefined> {
    return Promise.resolve(undefined);
  }

  writeNow(rows: readonly LedgerRow[]): string | undefined {
    this.onDisk.push(...rows);
    return "segment-1";
  }
}

function capturingLogger(): Logger & { lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  const push = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, message, fields });
  return { lines, debug: push("debug"), info: push("info"), warn: push("warn"), error: push("error") };
}

function writerOn(store: Store, extra: Partial<LedgerWriterOptions> = {}) {
  const logger = capturingLogger();
  const outcomes: Array<string | undefined> = [];
  const writer = new BatchedLedgerWriter(noDb, {
    flushMs: 100,
    batchSize: 10,
    maxRetryMs: 1_000,
    writeTimeoutMs: 5_000,
    insert: store.insert,
    logger,
    onWrite: (err) => outcomes.push(err === undefined ? undefined : err instanceof Error ? err.message : String(err)),
    ...extra,
  });
  return { writer, logger, outcomes };
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("BatchedLedgerWriter timing", () => {
  it("writes a partial batch after flushMs and not before; a full batch goes at once", async () => {
    const store = new Store();
    const { writer } = writerOn(store);
    writer.record(row(0));
    await vi.advanceTimersByTimeAsync(99);
    expect(store.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(store.calls).toEqual([{ at: 100, rows: 1 }]);
    for (let i = 1; i <= 10; i++) writer.record(row(i));
    await vi.advanceTimersByTimeAsync(0);
    expect(store.calls).toEqual([
      { at: 100, rows: 1 },
      { at: 100, rows: 10 },
    ]);
    expect(store.rows.size).toBe(11);
    // Idle: no timer left behind.
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("BatchedLedgerWriter with a failing store", () => {
  it("retries one batch at a time with doubling back-off up to maxRetryMs, then writes every row once", async () => {
    const store = new Store();
    store.mode = "refuse";
    const { writer, logger, outcomes } = writerOn(store);
    for (let i = 0; i < 25; i++) writer.record(row(i));
    // The first full batch is tried at once; after that only the back-off timer tries.
    await vi.advanceTimersByTimeAsync(0);
    expect(store.calls).toEqual([{ at: 0, rows: 10 }]);
    await vi.advanceTimersByTimeAsync(6_000);
    // 200, 400, 800, then capped at 1,000 ms apart.
    expect(store.calls.map((c) => c.at)).toEqual([0, 200, 600, 1_400, 2_400, 3_400, 4_400, 5_400]);
    expect(store.calls.every((c) => c.rows === 10)).toBe(true);
    expect(writer.stats()).toMatchObject({ queued: 25, dropped: 0, failedWrites: 8, failingSince: T0 });
    expect(outcomes).toEqual(Array(8).fill("database or disk is full"));
    // One line for the failure, not one per retry.
    expect(logger.lines.filter((l) => l.message.startsWith("ledger write failed"))).toHaveLength(1);

    store.mode = "up";
    await vi.advanceTimersByTimeAsync(1_000);
    expect(store.calls.slice(8).map((c) => c.rows)).toEqual([10, 10, 5]);
    expect(store.rows.size).toBe(25);
    expect(writer.stats()).toMatchObject({ queued: 0, failedWrites: 8, failingSince: undefined });
    expect(outcomes.slice(8)).toEqual([undefined, undefined, undefined]);
    expect(logger.lines.find((l) => l.message === "ledger writes recovered")?.fields).toMatchObject({ failedWrites: 8, failingForMs: 6_400 });
    // Recovered: the next row waits flushMs again, not the last back-off.
    writer.record(row(25));
    await vi.advanceTimersByTimeAsync(100);
    expect(store.rows.size).toBe(26);
  });

  it("counts an insert that never answers as failed after writeTimeoutMs, retries, and a late landing adds nothing", async () => {
    const store = new Store();
    store.mode = "hang";
    const { writer, outcomes } = writerOn(store);
    for (let i = 0; i < 5; i++) writer.record(row(i));
    await vi.advanceTimersByTimeAsync(100 + 4_999);
    expect(writer.stats()).toMatchObject({ failedWrites: 0, failingSince: undefined });
    await vi.advanceTimersByTimeAsync(1);
    // Readiness and the store's health now see the hang.
    expect(writer.stats()).toMatchObject({ queued: 5, failedWrites: 1, failingSince: T0 + 5_100 });
    expect(outcomes).toEqual([expect.stringContaining("did not answer within 5000 ms")]);
    // The retry is another insert of the same batch, after the back-off.
    await vi.advanceTimersByTimeAsync(200);
    expect(store.calls.map((c) => c.at)).toEqual([100, 5_300]);

    store.mode = "up";
    store.release();
    await vi.advanceTimersByTimeAsync(5_000 + 400);
    expect(store.rows.size).toBe(5);
    expect(writer.stats()).toMatchObject({ queued: 0, failingSince: undefined });
  });

  it("without a spool, drops and counts rows past the memory bound, logging once", async () => {
    const store = new Store();
    store.mode = "refuse";
    const { writer, logger } = writerOn(store, { maxPending: 50 });
    for (let i = 0; i < 80; i++) writer.record(row(i));
    expect(writer.stats()).toMatchObject({ queued: 50, dropped: 30 });
    expect(logger.lines.filter((l) => l.message.startsWith("ledger row dropped"))).toHaveLength(1);
    store.mode = "up";
    await vi.advanceTimersByTimeAsync(1_000);
    expect(store.rows.size).toBe(50);
    expect([...store.rows.keys()]).toEqual(Array.from({ length: 50 }, (_, i) => row(i).request_id));
  });
});

describe("BatchedLedgerWriter.close", () => {
  it("keeps retrying a refusing store until the deadline, then counts every unwritten row as lost (no spool)", async () => {
    const store = new Store();
    store.mode = "refuse";
    const { writer } = writerOn(store);
    for (let i = 0; i < 30; i++) writer.record(row(i));
    const closing = writer.close(1_000);
    let result;
    void closing.then((r) => (result = r));
    await vi.advanceTimersByTimeAsync(999);
    expect(result).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(result).toEqual({ spooled: 0, spoolFile: undefined, lost: 30 });
    // Tried every 200 ms within the deadline, never after it.
    expect(store.calls.map((c) => c.at)).toEqual([0, 200, 400, 600, 800]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(store.calls).toHaveLength(5);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("returns at the deadline while an insert hangs, counts the rows exactly, and a late landing starts nothing", async () => {
    const store = new Store();
    store.mode = "hang";
    const { writer } = writerOn(store, { writeTimeoutMs: 60_000 });
    for (let i = 0; i < 25; i++) writer.record(row(i));
    const closing = writer.close(2_000);
    await vi.advanceTimersByTimeAsync(2_000);
    // The in-flight batch is counted too: the store has not said it took it.
    await expect(closing).resolves.toEqual({ spooled: 0, spoolFile: undefined, lost: 25 });
    store.mode = "up";
    store.release();
    await vi.advanceTimersByTimeAsync(60_000);
    // The hung batch landed (10 rows); the closed writer wrote nothing more.
    expect(store.calls).toHaveLength(1);
    expect(store.rows.size).toBe(10);
  });

  it("writes what the store takes before the deadline and reports nothing lost", async () => {
    const store = new Store();
    const { writer } = writerOn(store);
    for (let i = 0; i < 25; i++) writer.record(row(i));
    await expect(writer.close(1_000)).resolves.toEqual({ spooled: 0, spoolFile: undefined, lost: 0 });
    expect(store.rows.size).toBe(25);
  });

  it("counts a row recorded after close as lost instead of keeping it in memory unwritten", async () => {
    const store = new Store();
    const { writer, logger } = writerOn(store);
    await writer.close(1_000);
    writer.record(row(1));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(store.calls).toEqual([]);
    expect(writer.stats()).toMatchObject({ queued: 0, dropped: 1 });
    expect(logger.lines.some((l) => l.message.includes("recorded after the ledger was closed"))).toBe(true);
  });

  it("waits for the spool's background write before returning, so an exit right after loses nothing", async () => {
    const store = new Store();
    store.mode = "refuse";
    const spool = new SlowDiskSpool();
    const { writer } = writerOn(store, { maxPending: 10, spool });
    for (let i = 0; i < 30; i++) writer.record(row(i));
    expect(spool.inFlight).toHaveLength(20);
    let result;
    void writer.close(500).then((r) => (result = r));
    await vi.advanceTimersByTimeAsync(900);
    // Past the deadline, the disk has not answered yet: close still waits (up to 1 s).
    expect(result).toBeUndefined();
    spool.land();
    await vi.advanceTimersByTimeAsync(0);
    expect(result).toEqual({ spooled: 30, spoolFile: "segment-1", lost: 0 });
    expect(spool.onDisk.map((r) => r.request_id).sort()).toEqual(Array.from({ length: 30 }, (_, i) => row(i).request_id));
  });

  it("returns anyway, and says so, when the spool's disk never answers", async () => {
    const store = new Store();
    store.mode = "refuse";
    const spool = new SlowDiskSpool();
    const { writer, logger } = writerOn(store, { maxPending: 10, spool });
    for (let i = 0; i < 30; i++) writer.record(row(i));
    const closing = writer.close(500);
    await vi.advanceTimersByTimeAsync(1_500);
    await expect(closing).resolves.toMatchObject({ spooled: 30, lost: 0 });
    expect(logger.lines.some((l) => l.message.includes("background write to disk did not finish"))).toBe(true);
  });

  it("spools a row recorded after close when there is a spool", async () => {
    const spool = new SlowDiskSpool();
    const { writer } = writerOn(new Store(), { spool });
    await writer.close(1_000);
    writer.record(row(1));
    expect(spool.onDisk.map((r) => r.request_id)).toEqual([row(1).request_id]);
    expect(writer.stats()).toMatchObject({ queued: 0, spooled: 1, dropped: 0 });
  });
});
