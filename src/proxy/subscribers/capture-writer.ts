import type { Kysely } from "kysely";
import type { Clock } from "../../core/clock.ts";
import type { Logger } from "../../core/logger.ts";
import { describeError } from "../../core/app.ts";
import type { Database } from "../../store/index.ts";
import type { CapturedBodiesTable } from "../../store/schema.ts";
import { cutToBytes, redactBody } from "./capture-redact.ts";

/** One body as it passed: the first bytes (the cap and a margin for redaction), and how many there were in all. */
export interface CapturedPart {
  head: Uint8Array;
  total: number;
}

/** What the capture subscriber hands over at a request's end; redacted and stored later, off the request path. */
export interface CapturedExchange {
  requestId: string;
  /** The request's arrival (the ledger's `ts`). */
  ts: number;
  /** Bytes kept per body. */
  maxBytes: number;
  request: CapturedPart | undefined;
  response: CapturedPart | undefined;
}

export interface CaptureSink {
  /** Never waits and never throws: past the memory bound the exchange is dropped and counted. */
  enqueue(exchange: CapturedExchange): void;
}

export interface CaptureWriterOptions {
  db: Kysely<Database>;
  clock: Clock;
  logger: Logger;
  /** The retention in ms, read at each prune (the config may change). */
  retentionMs: () => number;
  /** Values redacted wherever they appear (the gateway's provider keys). */
  knownSecrets: () => readonly string[];
  flushMs?: number;
  /** Bound on the bytes waiting in memory; past it new exchanges are dropped. */
  maxQueuedBytes?: number;
  /** Least time between two prunes made by writes (on Node a timer prunes too). */
  pruneEveryMs?: number;
}

/** Rows per insert: D1 binds at most 100 values to a statement (11 columns a row). */
const ROWS_PER_INSERT = 8;
/** Rows deleted per statement while pruning, so a long backlog never holds the store in one statement. */
const PRUNE_BATCH = 500;

/**
 * Stores captured bodies in `captured_bodies`, never on the request path: exchanges wait in a
 * bounded queue (bytes), a timer writes them in batches, redacting each body first, and every
 * write also deletes rows past the retention (at most once per `pruneEveryMs`). A batch the
 * store refused is dropped and logged (capture is a debugging aid, not an account: the
 * ledger row of the request is written apart, by the ledger writer).
 */
export class CaptureWriter implements CaptureSink {
  private queue: CapturedExchange[] = [];
  private queuedBytes = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private flushing: Promise<void> | undefined;
  private lastPrune = 0;
  private closed = false;
  /** Exchanges dropped (memory bound, store failure, after close), for /metrics and tests. */
  dropped = 0;
  written = 0;

  constructor(private readonly options: CaptureWriterOptions) {}

  enqueue(exchange: CapturedExchange): void {
    const size = (exchange.request?.head.byteLength ?? 0) + (exchange.response?.head.byteLength ?? 0);
    if (this.closed || this.queuedBytes + size > (this.options.maxQueuedBytes ?? 32 * 1024 * 1024)) {
      this.dropped++;
      return;
    }
    this.queue.push(exchange);
    this.queuedBytes += size;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.options.flushMs ?? 1000);
  }

  /** Writes what is queued (and prunes when due); resolves once it is in the store or dropped. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Deletes rows older than the retention; returns how many. */
  async prune(): Promise<number> {
    this.lastPrune = this.options.clock.now();
    const cutoff = this.lastPrune - this.options.retentionMs();
    let deleted = 0;
    for (;;) {
      const ids = await this.options.db.selectFrom("captured_bodies").select("request_id").where("ts", "<", cutoff).limit(PRUNE_BATCH).execute();
      if (ids.length === 0) return deleted;
      const result = await this.options.db
        .deleteFrom("captured_bodies")
        .where(
          "request_id",
          "in",
          ids.map((r) => r.request_id),
        )
        .executeTakeFirst();
      deleted += Number(result.numDeletedRows);
      if (ids.length < PRUNE_BATCH) return deleted;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, ROWS_PER_INSERT);
      for (const e of batch) this.queuedBytes -= (e.request?.head.byteLength ?? 0) + (e.response?.head.byteLength ?? 0);
      try {
        const rows: CapturedBodiesTable[] = [];
        for (const e of batch) {
          rows.push(capturedRow(e, this.options.knownSecrets()));
          // Redaction is CPU work on the gateway's thread: let requests in between exchanges.
          await yieldToRequests();
        }
        await this.options.db
          .insertInto("captured_bodies")
          .values(rows)
          .onConflict((oc) => oc.column("request_id").doNothing())
          .execute();
        this.written += batch.length;
      } catch (err) {
        this.dropped += batch.length;
        this.options.logger.warn({ err: describeError(err), dropped: batch.length }, "captured bodies could not be stored; they are dropped (the requests' ledger rows are not affected)");
      }
    }
    if (this.options.clock.now() - this.lastPrune >= (this.options.pruneEveryMs ?? 10 * 60_000)) {
      try {
        await this.prune();
      } catch (err) {
        this.options.logger.warn({ err: describeError(err) }, "expired captured bodies could not be deleted; the next round retries");
      }
    }
  }
}

const decoder = () => new TextDecoder("utf-8", { fatal: true });

/** A turn of the event loop (a timer, not a microtask: I/O callbacks run first), on every runtime. */
function yieldToRequests(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** One part as stored: redacted text cut to the cap, or a note saying why there is none. */
function storedPart(part: CapturedPart | undefined, maxBytes: number, knownSecrets: readonly string[]): { body: string | null; bytes: number; truncated: number; note: string | null; redactions: number } {
  if (!part || part.total === 0) return { body: null, bytes: 0, truncated: 0, note: "no body", redactions: 0 };
  let text: string;
  try {
    // `stream: true`: a head cut inside a character is not an error (the rest was not kept).
    text = decoder().decode(part.head, { stream: part.total > part.head.byteLength });
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    return { body: null, bytes: part.total, truncated: 0, note: "binary (not UTF-8 text), not kept", redactions: 0 };
  }
  if (text.includes("\u0000")) return { body: null, bytes: part.total, truncated: 0, note: "binary (not UTF-8 text), not kept", redactions: 0 };
  const redacted = redactBody(text, knownSecrets);
  const cut = cutToBytes(redacted.text, maxBytes);
  return { body: cut.text, bytes: part.total, truncated: cut.cut || part.total > part.head.byteLength ? 1 : 0, note: null, redactions: redacted.redactions };
}

/** The stored row of one exchange; exported for the tests. */
export function capturedRow(e: CapturedExchange, knownSecrets: readonly string[]): CapturedBodiesTable {
  const request = storedPart(e.request, e.maxBytes, knownSecrets);
  const response = storedPart(e.response, e.maxBytes, knownSecrets);
  return {
    request_id: e.requestId,
    ts: e.ts,
    request_body: request.body,
    request_bytes: request.bytes,
    request_truncated: request.truncated,
    response_body: response.body,
    response_bytes: response.bytes,
    response_truncated: response.truncated,
    request_note: request.note,
    response_note: response.note,
    redactions: request.redactions + response.redactions,
  };
}
