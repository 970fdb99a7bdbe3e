import type { LedgerRow } from "./writer.ts";

/**
 * Where ledger rows go when the memory queue is full (the store is failing or slow): files on
 * the local disk on Node (adapters/node/ledger-spool.ts). Rows are kept in segments; the
 * writer drains the oldest segment once the memory queue is empty and the store takes rows.
 * A row written twice (a segment drained again after a crash) stays one row: inserts are
 * keyed on request_id.
 */
export interface LedgerSpool {
  /**
   * Queues a row for the disk; false when the spool cannot take it (over its size bound, or
   * the disk is failing): the caller drops the row and counts it.
   */
  append(row: LedgerRow): boolean;
  /** The oldest segment (rows not yet written to the store), or undefined when the spool is empty. */
  oldest(): Promise<SpoolSegment | undefined>;
  /**
   * Resolves once every row appended so far is on disk or counted in `lost`: `close` awaits it
   * before the process exits, which would cut a background append short.
   */
  settled(): Promise<void>;
  /** Rows held (on disk and waiting to be written to it). */
  readonly rows: number;
  /** Rows the spool lost: appends that failed on the disk, unreadable lines. */
  readonly lost: number;
  /**
   * Synchronously writes `rows` and everything still buffered to one segment (shutdown, when
   * nothing can be awaited for long). Returns the file written, or undefined when there was
   * nothing to write. Throws when the disk refuses; the rows it could not write (those buffered
   * included) are then no longer in `rows`: the buffered ones are counted in `lost`, the caller
   * counts `rows`.
   */
  writeNow(rows: readonly LedgerRow[]): string | undefined;
}

export interface SpoolSegment {
  /** Where it is, for logs. */
  readonly name: string;
  readonly rows: readonly LedgerRow[];
  /** Deletes it: its rows are in the store. */
  remove(): Promise<void>;
}
