import type { Insertable, Kysely } from "kysely";
import type { Logger } from "../core/logger.ts";
import { describeError } from "../core/app.ts";
import type { Database, LedgerTable } from "../store/index.ts";

export type LedgerRow = Insertable<LedgerTable>;

/** Where the proxy hands finished requests. `record` never blocks the request. */
export interface LedgerSink {
  record(row: LedgerRow): void;
}

export interface LedgerWriterOptions {
  flushMs: number;
  batchSize: number;
  logger: Logger;
  /** Rows kept in memory while the database is failing before the oldest are dropped (and counted). */
  maxPending?: number;
  /**
   * Writes one batch, idempotently by request_id. Defaults to a portable Kysely insert; an
   * adapter may hand in a faster one (the embedded SQLite uses one prepared statement).
   */
  insert?: LedgerInsert | undefined;
}

export type LedgerInsert = (rows: readonly LedgerRow[]) => Promise<void>;

/** The portable insert: one multi-row statement per batch, keyed on request_id. */
export function kyselyLedgerInsert(db: Kysely<Database>, batchSize: number): LedgerInsert {
  return async (rows) => {
    for (let i = 0; i < rows.length; i += batchSize) {
      // A row written twice (a retried flush, a second instance) stays one row.
      await db.insertInto("ledger").values(rows.slice(i, i + batchSize)).onConflict((oc) => oc.column("request_id").doNothing()).execute();
    }
  };
}

/**
 * Batches ledger rows off the hot path: a row is queued synchronously, and a flush is
 * scheduled only while rows are waiting (no timer when idle). A failed insert keeps its
 * rows for the next flush; `close()` flushes everything, for SIGTERM.
 */
export class BatchedLedgerWriter implements LedgerSink {
  private pending: LedgerRow[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private droppedRows = 0;
  private readonly maxPending: number;
  private readonly insert: LedgerInsert;

  constructor(
    db: Kysely<Database>,
    private readonly options: LedgerWriterOptions,
  ) {
    this.maxPending = options.maxPending ?? 100_000;
    this.insert = options.insert ?? kyselyLedgerInsert(db, options.batchSize);
  }

  record(row: LedgerRow): void {
    this.pending.push(row);
    if (this.pending.length > this.maxPending) {
      this.pending.shift();
      this.droppedRows++;
    }
    if (this.pending.length >= this.options.batchSize) void this.flush();
    else if (!this.timer && !this.closed) this.timer = setTimeout(() => void this.flush(), this.options.flushMs);
  }

  get dropped(): number {
    return this.droppedRows;
  }

  get queued(): number {
    return this.pending.length;
  }

  /** Writes everything queued so far; concurrent callers share one flush at a time. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.flushing) await this.flushing;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.write(batch).finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
    if (this.pending.length > 0 && !this.timer && !this.closed) this.timer = setTimeout(() => void this.flush(), this.options.flushMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    // A flush that failed put its rows back; one more try before giving up loudly.
    if (this.pending.length > 0) await this.flush();
    if (this.pending.length > 0) this.options.logger.error({ rows: this.pending.length }, "ledger rows could not be written at shutdown");
  }

  private async write(batch: LedgerRow[]): Promise<void> {
    try {
      await this.insert(batch);
    } catch (err) {
      this.options.logger.error({ err: describeError(err), rows: batch.length }, "ledger flush failed; will retry");
      this.pending = batch.concat(this.pending);
    }
  }
}
