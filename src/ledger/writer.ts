import type { Insertable, Kysely } from "kysely";
import type { Logger } from "../core/logger.ts";
import { describeError } from "../core/app.ts";
import { LogThrottle } from "../core/log-throttle.ts";
import { LEDGER_COLUMNS, ledgerRecord, type Database, type LedgerTable } from "../store/index.ts";
import { rejectAfter, settledWithin } from "./deadlines.ts";
import type { LedgerSpool } from "./spool.ts";

export type LedgerRow = Insertable<LedgerTable>;

/** Where the proxy hands finished requests. `record` never blocks the request. */
export interface LedgerSink {
  record(row: LedgerRow): void;
}

export interface LedgerWriterOptions {
  flushMs: number;
  batchSize: number;
  logger: Logger;
  /**
   * Rows kept in memory while the store is failing or slow. Past it, rows go to the spool
   * (disk); without a spool, or when the spool cannot take them, they are dropped, logged and
   * counted. Default 10,000 (a few MB).
   */
  maxPending?: number;
  /** The overflow for rows past `maxPending`, and what `close` writes unwritten rows to. */
  spool?: LedgerSpool | undefined;
  /** Longest wait between two retries of a failing store (the wait doubles from `flushMs`). */
  maxRetryMs?: number;
  /**
   * How long one insert may take before it counts as failed (a store that hangs rather than
   * refuses: a black-holed connection, a lock never released). The batch stays queued and is
   * retried; if the late insert lands after all, the retry adds nothing (keyed on request_id).
   * Default 10 s.
   */
  writeTimeoutMs?: number;
  /**
   * Writes one batch, idempotently by request_id. Defaults to a portable Kysely insert; an
   * adapter may hand in a faster one (the embedded SQLite uses one prepared statement).
   */
  insert?: LedgerInsert | undefined;
  /** Told about every insert's outcome (readiness, the budget store's health). */
  onWrite?: ((err: unknown) => void) | undefined;
  now?: () => number;
}

export type LedgerInsert = (rows: readonly LedgerRow[]) => Promise<void>;

/** The least `close` waits for the spool's background append, even past its deadline (a local disk). */
const SPOOL_SETTLE_MIN_MS = 1_000;

/** What `close` could not write to the store. */
export interface LedgerCloseResult {
  /** Rows written to a spool file that the next start replays. */
  spooled: number;
  spoolFile: string | undefined;
  /** Rows lost: not in the store and not in a spool file. */
  lost: number;
}

export interface LedgerStats {
  /** Rows waiting in memory. */
  queued: number;
  /** Rows waiting in the spool on disk. */
  spooled: number;
  /** Rows lost since start (memory and spool full, the disk failed, or recorded after `close`). */
  dropped: number;
  /** Failed inserts since start (refused, or not answered within `writeTimeoutMs`). */
  failedWrites: number;
  /** Epoch ms since when every write failed, or undefined while writes succeed. */
  failingSince: number | undefined;
}

/**
 * The portable insert (PostgreSQL, D1): multi-row statements keyed on request_id. Each row is
 * reduced to the store's ledger columns (ledgerRecord), the definition the SQLite worker's
 * statement uses too, so every dialect writes the same columns. A statement holds at most
 * `batchSize` rows and at most `maxBoundParameters` values (PostgreSQL's wire limit by
 * default; D1 allows 100, so 3 ledger rows: see adapters/workers/d1-dialect.ts).
 */
export function kyselyLedgerInsert(db: Kysely<Database>, batchSize: number, maxBoundParameters = 65_535): LedgerInsert {
  const rowsPerStatement = Math.max(1, Math.min(batchSize, Math.floor(maxBoundParameters / LEDGER_COLUMNS.length)));
  return async (rows) => {
    for (let i = 0; i < rows.length; i += rowsPerStatement) {
      const batch = rows.slice(i, i + rowsPerStatement).map((row) => ledgerRecord(row) as LedgerRow);
      // A row written twice (a retried flush, a second instance) stays one row.
      await db
        .insertInto("ledger")
        .values(batch)
        .onConflict((oc) => oc.column("request_id").doNothing())
        .execute();
    }
  };
}

/**
 * Batches ledger rows off the hot path: a row is queued synchronously, and a flush is
 * scheduled only while rows are waiting (no timer when idle). Each insert takes at most one
 * batch, so a failing store costs one batch's serialisation per retry, never the backlog's;
 * retries back off up to `maxRetryMs`. The memory queue is bounded: past it rows go to the
 * spool on disk and are drained once the memory queue is empty again. `close()` writes what
 * it can before its deadline and spools the rest for the next start.
 */
export class BatchedLedgerWriter implements LedgerSink {
  private pending: LedgerRow[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private flushing: Promise<void> | undefined;
  /** Set when `close` starts: no more timers, the shutdown loop writes. */
  private closed = false;
  /** Set when `close` returns: rows recorded later go straight to the spool, or are counted lost. */
  private finished = false;
  private droppedRows = 0;
  private failedWrites = 0;
  private failures = 0;
  private failingSince: number | undefined;
  private readonly maxPending: number;
  private readonly maxRetryMs: number;
  private readonly writeTimeoutMs: number;
  private readonly insert: LedgerInsert;
  private readonly log: LogThrottle;
  private readonly now: () => number;

  constructor(
    db: Kysely<Database>,
    private readonly options: LedgerWriterOptions,
  ) {
    this.maxPending = options.maxPending ?? 10_000;
    this.maxRetryMs = options.maxRetryMs ?? 5_000;
    this.writeTimeoutMs = options.writeTimeoutMs ?? 10_000;
    this.insert = options.insert ?? kyselyLedgerInsert(db, options.batchSize);
    // Read on each call, not captured: a test's fake Date installed later still applies.
    this.now = options.now ?? (() => Date.now());
    this.log = new LogThrottle(options.logger, this.now);
  }

  record(row: LedgerRow): void {
    if (this.finished) {
      this.recordAfterClose(row);
      return;
    }
    if (this.pending.length < this.maxPending) this.pending.push(row);
    else if (!this.options.spool?.append(row)) this.drop(1, "the memory queue is full and the spool cannot take more");
    if (this.failingSince !== undefined) {
      // A failing store is retried on its back-off timer, not on every batch's worth of rows.
      this.schedule();
      return;
    }
    if (this.pending.length >= this.options.batchSize && !this.flushing) void this.flush();
    else this.schedule();
  }

  get dropped(): number {
    return this.droppedRows + (this.options.spool?.lost ?? 0);
  }

  get queued(): number {
    return this.pending.length;
  }

  stats(): LedgerStats {
    return { queued: this.pending.length, spooled: this.options.spool?.rows ?? 0, dropped: this.dropped, failedWrites: this.failedWrites, failingSince: this.failingSince };
  }

  /**
   * Writes everything queued so far, the spool included, batch by batch; stops at the first
   * failure (the rows stay queued and a retry is scheduled). Concurrent callers share one run.
   */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
    this.schedule();
  }

  /**
   * Stops taking timers, then writes until `deadlineMs` has passed. What is still unwritten
   * is written to a spool file the next start replays; only if that fails too are rows lost.
   */
  async close(deadlineMs = 10_000): Promise<LedgerCloseResult> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const until = this.now() + deadlineMs;
    for (;;) {
      const before = this.pending.length + (this.options.spool?.rows ?? 0);
      if (before === 0) break;
      const remaining = until - this.now();
      if (remaining <= 0) break;
      // An insert in flight past the deadline is left behind; its rows are spooled below.
      if (!(await settledWithin(this.flush(), remaining))) break;
      const after = this.pending.length + (this.options.spool?.rows ?? 0);
      if (after === 0) break;
      // A failed round: wait a little before the next try, within the deadline.
      if (after >= before) await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, until - this.now()))));
    }
    this.finished = true;
    const unwritten = this.pending;
    this.pending = [];
    const spool = this.options.spool;
    // Rows handed to the spool's background append must be on disk before the process exits.
    if (spool && !(await settledWithin(spool.settled(), Math.max(SPOOL_SETTLE_MIN_MS, until - this.now())))) {
      this.options.logger.error({ rows: spool.rows }, "the ledger spool's background write to disk did not finish at shutdown; rows in it may be lost");
    }
    if (unwritten.length === 0 && (spool?.rows ?? 0) === 0) return { spooled: 0, spoolFile: undefined, lost: this.dropped };
    if (!spool) {
      this.droppedRows += unwritten.length;
      this.options.logger.error({ rows: unwritten.length }, "ledger rows could not be written at shutdown and there is no spool: they are lost");
      return { spooled: 0, spoolFile: undefined, lost: this.dropped };
    }
    try {
      // A batch whose insert is still in flight is spooled as well: if it lands after all,
      // the replay finds its rows already there (keyed on request_id) and adds nothing.
      const file = spool.writeNow(unwritten);
      this.options.logger.error({ rows: spool.rows, file }, "ledger rows could not be written to the store before the shutdown deadline; they are spooled and replayed at the next start");
      return { spooled: spool.rows, spoolFile: file, lost: this.dropped };
    } catch (err) {
      this.droppedRows += unwritten.length;
      this.options.logger.error({ err: describeError(err), rows: unwritten.length }, "ledger rows could not be written at shutdown, nor spooled to disk: they are lost");
      return { spooled: 0, spoolFile: undefined, lost: this.dropped };
    }
  }

  /** A row that ended after the shutdown: written to its own spool segment at once, or counted lost. */
  private recordAfterClose(row: LedgerRow): void {
    try {
      if (this.options.spool?.writeNow([row])) return;
    } catch (err) {
      this.log.error({ err: describeError(err) }, "could not spool a ledger row recorded after shutdown");
    }
    this.drop(1, "recorded after the ledger was closed, and it could not be spooled");
  }

  private schedule(): void {
    if (this.timer || this.closed || this.flushing) return;
    if (this.pending.length === 0 && (this.options.spool?.rows ?? 0) === 0) return;
    const wait = this.failures === 0 ? this.options.flushMs : Math.min(this.maxRetryMs, this.options.flushMs * 2 ** Math.min(this.failures, 16));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, wait);
  }

  private async drain(): Promise<void> {
    // The memory queue first, one batch per insert; the batch leaves the queue only once written.
    while (this.pending.length > 0 && !this.finished) {
      const batch = this.pending.slice(0, this.options.batchSize);
      if (!(await this.write(batch))) return;
      this.pending.splice(0, batch.length);
    }
    const spool = this.options.spool;
    // Once `close` returned, a late round (an insert that answered after the deadline) stops:
    // what it would write is in the spool file the next start replays.
    while (spool && spool.rows > 0 && this.pending.length < this.options.batchSize && !this.finished) {
      let segment;
      try {
        segment = await spool.oldest();
      } catch (err) {
        this.log.error({ err: describeError(err) }, "reading the ledger spool failed; will retry");
        return;
      }
      if (!segment) return;
      for (let i = 0; i < segment.rows.length; i += this.options.batchSize) {
        if (this.finished || !(await this.write(segment.rows.slice(i, i + this.options.batchSize)))) return;
      }
      await segment.remove();
      this.options.logger.info({ rows: segment.rows.length, segment: segment.name }, "spooled ledger rows written to the store");
    }
  }

  private async write(batch: readonly LedgerRow[]): Promise<boolean> {
    try {
      await rejectAfter(this.insert(batch), this.writeTimeoutMs, () => new Error(`ledger insert did not answer within ${this.writeTimeoutMs} ms (the store hangs); the batch stays queued and is retried`));
    } catch (err) {
      this.failedWrites++;
      this.failures++;
      this.failingSince ??= this.now();
      this.options.onWrite?.(err);
      this.log.error({ err: describeError(err), rows: batch.length, queued: this.pending.length, spooled: this.options.spool?.rows ?? 0 }, "ledger write failed; will retry");
      return false;
    }
    if (this.failingSince !== undefined) {
      this.options.logger.info({ failedWrites: this.failures, failingForMs: this.now() - this.failingSince }, "ledger writes recovered");
      this.failingSince = undefined;
    }
    this.failures = 0;
    this.options.onWrite?.(undefined);
    return true;
  }

  private drop(rows: number, why: string): void {
    this.droppedRows += rows;
    this.log.error({ rows, droppedTotal: this.droppedRows }, `ledger row dropped: ${why}`);
  }
}
