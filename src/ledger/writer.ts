import type { Insertable, Kysely } from "kysely";
import type { Logger } from "../core/logger.ts";
import { describeError } from "../core/app.ts";
import { LogThrottle } from "../core/log-throttle.ts";
import { ledgerRecord, type Database, type LedgerTable } from "../store/index.ts";
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
   * Writes one batch, idempotently by request_id. Defaults to a portable Kysely insert; an
   * adapter may hand in a faster one (the embedded SQLite uses one prepared statement).
   */
  insert?: LedgerInsert | undefined;
  /** Told about every insert's outcome (readiness, the budget store's health). */
  onWrite?: ((err: unknown) => void) | undefined;
  now?: () => number;
}

export type LedgerInsert = (rows: readonly LedgerRow[]) => Promise<void>;

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
  /** Rows lost since start (memory and spool full, or the disk failed). */
  dropped: number;
  /** Failed inserts since start. */
  failedWrites: number;
  /** Epoch ms since when every write failed, or undefined while writes succeed. */
  failingSince: number | undefined;
}

/**
 * The portable insert (PostgreSQL, D1): one multi-row statement per batch, keyed on request_id.
 * Each row is reduced to the store's ledger columns (ledgerRecord), the definition the SQLite
 * worker's statement uses too, so every dialect writes the same columns.
 */
export function kyselyLedgerInsert(db: Kysely<Database>, batchSize: number): LedgerInsert {
  return async (rows) => {
    for (let i = 0; i < rows.length; i += batchSize) {
      const batch = rows.slice(i, i + batchSize).map((row) => ledgerRecord(row) as LedgerRow);
      // A row written twice (a retried flush, a second instance) stays one row.
      await db.insertInto("ledger").values(batch).onConflict((oc) => oc.column("request_id").doNothing()).execute();
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
  private closed = false;
  private droppedRows = 0;
  private failedWrites = 0;
  private failures = 0;
  private failingSince: number | undefined;
  private readonly maxPending: number;
  private readonly maxRetryMs: number;
  private readonly insert: LedgerInsert;
  private readonly log: LogThrottle;
  private readonly now: () => number;

  constructor(
    db: Kysely<Database>,
    private readonly options: LedgerWriterOptions,
  ) {
    this.maxPending = options.maxPending ?? 10_000;
    this.maxRetryMs = options.maxRetryMs ?? 5_000;
    this.insert = options.insert ?? kyselyLedgerInsert(db, options.batchSize);
    this.now = options.now ?? Date.now;
    this.log = new LogThrottle(options.logger, this.now);
  }

  record(row: LedgerRow): void {
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
      const round = this.flush();
      let timeout: ReturnType<typeof setTimeout> | undefined;
      const late = await Promise.race([round.then(() => false), new Promise<boolean>((resolve) => (timeout = setTimeout(() => resolve(true), remaining)))]);
      clearTimeout(timeout);
      if (late) break;
      const after = this.pending.length + (this.options.spool?.rows ?? 0);
      if (after === 0) break;
      // A failed round: wait a little before the next try, within the deadline.
      if (after >= before) await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, until - this.now()))));
    }
    const unwritten = this.pending;
    this.pending = [];
    if (unwritten.length === 0 && (this.options.spool?.rows ?? 0) === 0) return { spooled: 0, spoolFile: undefined, lost: this.dropped };
    const spool = this.options.spool;
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
    while (this.pending.length > 0) {
      const batch = this.pending.slice(0, this.options.batchSize);
      if (!(await this.write(batch))) return;
      this.pending.splice(0, batch.length);
    }
    const spool = this.options.spool;
    while (spool && spool.rows > 0 && this.pending.length < this.options.batchSize) {
      let segment;
      try {
        segment = await spool.oldest();
      } catch (err) {
        this.log.error({ err: describeError(err) }, "reading the ledger spool failed; will retry");
        return;
      }
      if (!segment) return;
      for (let i = 0; i < segment.rows.length; i += this.options.batchSize) {
        if (!(await this.write(segment.rows.slice(i, i + this.options.batchSize)))) return;
      }
      await segment.remove();
      this.options.logger.info({ rows: segment.rows.length, segment: segment.name }, "spooled ledger rows written to the store");
    }
  }

  private async write(batch: readonly LedgerRow[]): Promise<boolean> {
    try {
      await this.insert(batch);
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
