import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { appendFile, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { describeError } from "../../core/app.ts";
import { LogThrottle } from "../../core/log-throttle.ts";
import type { Logger } from "../../core/logger.ts";
import type { LedgerRow, LedgerSpool, SpoolSegment } from "../../ledger/index.ts";

export interface FileSpoolOptions {
  /** Directory of the segment files, e.g. <data dir>/ledger-spool. */
  dir: string;
  logger: Logger;
  /** Bound on the spool's size on disk; past it rows are refused (and counted as dropped by the writer). */
  maxBytes: number;
  /** Rows per segment file: the most a drain reads into memory at once. */
  segmentRows?: number;
  /** Serialised rows waiting for the disk; past it rows are refused (a disk slower than the traffic). Default 16 MB. */
  maxBufferBytes?: number;
}

/** One JSON row per line: a torn last line (a crash mid-append) loses that row only. */
const EXTENSION = ".ndjson";

/**
 * The ledger's overflow on the local disk: newline-delimited JSON in segment files named by
 * creation time (so the oldest drains first), appended in the background. A row is
 * serialised once, when it is spooled; a retry never touches it again until its segment is
 * drained. Segments left by an earlier process (a shutdown that could not reach the store)
 * are found at start and drained like any other.
 */
export class FileLedgerSpool implements LedgerSpool {
  private readonly segmentRows: number;
  private readonly log: LogThrottle;
  /** Segments on disk, oldest first, with their row counts. */
  private readonly segments: Array<{ file: string; rows: number; bytes: number }> = [];
  private current: { file: string; rows: number; bytes: number } | undefined;
  private buffer: string[] = [];
  private bufferBytes = 0;
  private writing: Promise<void> | undefined;
  private totalRows = 0;
  private totalBytes = 0;
  private lostRows = 0;
  private seq = 0;

  constructor(private readonly options: FileSpoolOptions) {
    this.segmentRows = options.segmentRows ?? 5_000;
    this.log = new LogThrottle(options.logger);
    mkdirSync(options.dir, { recursive: true });
    for (const name of readdirSync(options.dir)
      .filter((n) => n.endsWith(EXTENSION))
      .sort()) {
      const file = join(options.dir, name);
      const bytes = statSync(file).size;
      const rows = countLines(readFileSync(file));
      this.segments.push({ file, rows, bytes });
      this.totalRows += rows;
      this.totalBytes += bytes;
    }
  }

  get rows(): number {
    return this.totalRows;
  }

  get lost(): number {
    return this.lostRows;
  }

  /** Serialised rows not yet on disk. */
  get bufferedBytes(): number {
    return this.bufferBytes + (this.writing ? 1 : 0);
  }

  /** Segment files found at start (left by an earlier process). */
  get leftover(): number {
    return this.segments.length;
  }

  append(row: LedgerRow): boolean {
    const line = `${JSON.stringify(row)}\n`;
    if (this.totalBytes + this.bufferBytes + line.length > this.options.maxBytes) return false;
    if (this.bufferBytes + line.length > (this.options.maxBufferBytes ?? 16 * 1024 * 1024)) return false;
    this.buffer.push(line);
    this.bufferBytes += line.length;
    this.totalRows++;
    this.writing ??= this.writeBuffered().finally(() => {
      this.writing = undefined;
    });
    return true;
  }

  async settled(): Promise<void> {
    // An append that starts while one is awaited (rows arriving during shutdown) is awaited too.
    while (this.writing) await this.writing;
  }

  async oldest(): Promise<SpoolSegment | undefined> {
    await this.writing;
    // The segment being appended to is closed first, so its rows can drain too.
    if (this.segments.length === 0 && this.current) this.rotate();
    const segment = this.segments[0];
    if (!segment) return undefined;
    let text: string;
    try {
      text = await readFile(segment.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        // Another process sharing the directory drained it.
        this.forget(segment);
        return this.oldest();
      }
      throw err;
    }
    const rows: LedgerRow[] = [];
    let unreadable = 0;
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      try {
        rows.push(JSON.parse(line) as LedgerRow);
      } catch {
        // Not valid JSON: the torn tail of a crash mid-append. That row is lost, and counted.
        unreadable++;
      }
    }
    if (unreadable > 0) {
      this.lostRows += unreadable;
      this.log.error({ rows: unreadable, segment: segment.file }, "unreadable lines in a ledger spool segment; those rows are lost");
    }
    // The estimate from the file size becomes the real count.
    this.totalRows += rows.length + unreadable - segment.rows;
    segment.rows = rows.length + unreadable;
    return {
      name: segment.file,
      rows,
      remove: async () => {
        try {
          await unlink(segment.file);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
            this.log.error({ err: describeError(err), segment: segment.file }, "could not delete a drained ledger spool segment; its rows may be replayed again (no duplicates: inserts are keyed on request_id)");
          }
        }
        this.forget(segment);
      },
    };
  }

  writeNow(rows: readonly LedgerRow[]): string | undefined {
    const buffered = this.buffer.length;
    const lines = this.buffer.concat(rows.map((row) => `${JSON.stringify(row)}\n`));
    this.buffer = [];
    this.bufferBytes = 0;
    if (lines.length === 0) return this.current?.file ?? this.segments[this.segments.length - 1]?.file;
    const file = this.segmentFile();
    // Its own segment: a background append still in flight cannot interleave with it.
    const text = lines.join("");
    try {
      appendFileSync(file, text, { flush: true });
    } catch (err) {
      // The buffered rows were counted as held when appended: they are lost now, and counted;
      // the caller counts `rows`, which it still holds.
      this.totalRows -= buffered;
      this.lostRows += buffered;
      throw err;
    }
    this.totalRows += rows.length;
    this.segments.push({ file, rows: lines.length, bytes: text.length });
    this.totalBytes += text.length;
    return file;
  }

  private async writeBuffered(): Promise<void> {
    while (this.buffer.length > 0) {
      const lines = this.buffer;
      const bytes = this.bufferBytes;
      this.buffer = [];
      this.bufferBytes = 0;
      this.current ??= { file: this.segmentFile(), rows: 0, bytes: 0 };
      const target = this.current;
      try {
        await appendFile(target.file, lines.join(""));
        target.rows += lines.length;
        target.bytes += bytes;
        this.totalBytes += bytes;
        if (target.rows >= this.segmentRows) this.rotate();
      } catch (err) {
        this.totalRows -= lines.length;
        this.lostRows += lines.length;
        this.log.error({ err: describeError(err), rows: lines.length, dir: this.options.dir }, "could not write ledger rows to the spool on disk; those rows are lost");
      }
    }
  }

  private rotate(): void {
    if (this.current && this.current.rows > 0) this.segments.push(this.current);
    this.current = undefined;
  }

  private forget(segment: { file: string; rows: number; bytes: number }): void {
    const i = this.segments.indexOf(segment);
    if (i < 0) return;
    this.segments.splice(i, 1);
    this.totalRows -= segment.rows;
    this.totalBytes -= segment.bytes;
  }

  private segmentFile(): string {
    // Sortable by time, unique per process.
    return join(this.options.dir, `${Date.now().toString().padStart(15, "0")}-${process.pid}-${String(this.seq++).padStart(6, "0")}${EXTENSION}`);
  }
}

function countLines(bytes: Buffer): number {
  let n = 0;
  for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) n++;
  // A torn last line without its newline is still a row to account for (lost when read).
  if (bytes.length > 0 && bytes[bytes.length - 1] !== 10) n++;
  return n;
}
