/**
 * THE shared incremental Server-Sent Events parser (WHATWG HTML "event stream
 * interpretation"). Fed raw bytes split anywhere (mid-line, mid-CRLF, mid-UTF-8 character);
 * calls `onEvent` synchronously for every dispatched event. No Promise per event, no
 * per-line substring of the field name: this runs on every response chunk of the proxy.
 *
 * Spec points honoured: `\n`, `\r\n` and `\r` line ends; a leading BOM is dropped; lines
 * starting with ":" are comments; `field:value` with at most one space stripped after the
 * colon; a line without a colon is a field with an empty value; multi-line `data:` joined
 * with "\n"; `event:` sets the type (default "message"); `id:` sets the last event id (kept
 * across events; ignored when it contains NUL); an event with no data line is not
 * dispatched; unknown fields and `retry:` are ignored.
 */
export interface SseEvent {
  /** Event type: the last `event:` field, or "message". */
  event: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  /** The last event id seen on the stream so far, if any. */
  id: string | undefined;
}

export interface SseParserOptions {
  /**
   * Longest line (and longest joined `data`) kept, in UTF-16 code units. A longer line is
   * skipped up to its end and the event it belongs to is not dispatched, so a hostile or
   * broken upstream cannot make the parser hold unbounded memory. Default: no limit.
   */
  maxLineLength?: number | undefined;
}

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;

export class SseParser {
  private readonly decoder = new TextDecoder("utf-8");
  private readonly maxLineLength: number;
  /** Decoded text of the current, not yet terminated line. */
  private pending = "";
  /** The previous text ended with "\r": a "\n" starting the next text is its other half. */
  private skipLeadingLf = false;
  /** Skipping the rest of an over-long line. */
  private discardingLine = false;
  private eventType = "";
  private data = "";
  private dataLines = 0;
  /** The current event lost a line or data to the length cap: it must not be dispatched. */
  private eventBroken = false;
  private lastEventId: string | undefined = undefined;

  constructor(
    private readonly onEvent: (event: SseEvent) => void,
    options: SseParserOptions = {},
  ) {
    this.maxLineLength = options.maxLineLength ?? Number.POSITIVE_INFINITY;
  }

  /** Feeds raw bytes; decodes UTF-8 across chunk boundaries. */
  push(chunk: Uint8Array): void {
    const text = this.decoder.decode(chunk, { stream: true });
    if (text.length > 0) this.pushText(text);
  }

  /** Feeds already-decoded text (for callers that hold strings). */
  pushText(input: string): void {
    let text = input;
    let pos = 0;
    if (this.skipLeadingLf) {
      this.skipLeadingLf = false;
      if (text.charCodeAt(0) === LF) pos = 1;
    }
    if (this.pending.length > 0) {
      text = this.pending + text.slice(pos);
      pos = 0;
      this.pending = "";
    }
    const length = text.length;
    let nextLf = text.indexOf("\n", pos);
    let nextCr = text.indexOf("\r", pos);
    while (pos < length) {
      if (nextLf !== -1 && nextLf < pos) nextLf = text.indexOf("\n", pos);
      if (nextCr !== -1 && nextCr < pos) nextCr = text.indexOf("\r", pos);
      const eol = nextLf === -1 ? nextCr : nextCr === -1 ? nextLf : Math.min(nextLf, nextCr);
      if (eol === -1) {
        this.keepPartialLine(text, pos);
        return;
      }
      if (this.discardingLine) this.discardingLine = false;
      else if (eol - pos > this.maxLineLength) this.eventBroken = true;
      else this.processLine(text, pos, eol);
      if (text.charCodeAt(eol) === CR) {
        if (eol + 1 === length) {
          this.skipLeadingLf = true;
          return;
        }
        pos = text.charCodeAt(eol + 1) === LF ? eol + 2 : eol + 1;
      } else {
        pos = eol + 1;
      }
    }
  }

  /**
   * End of stream. Per the spec an event without its terminating blank line is discarded;
   * pass `dispatchIncomplete` to treat the end of the stream as that blank line instead
   * (the usage readers do, so a stream cut right after its usage event still counts).
   */
  end(options: { dispatchIncomplete?: boolean } = {}): void {
    const rest = this.decoder.decode();
    if (rest.length > 0) this.pushText(rest);
    if (options.dispatchIncomplete) {
      if (this.pending.length > 0 && !this.discardingLine) {
        const line = this.pending;
        this.pending = "";
        this.processLine(line, 0, line.length);
      }
      this.dispatch();
    }
    this.pending = "";
    this.discardingLine = false;
    this.skipLeadingLf = false;
    this.resetEvent();
  }

  private keepPartialLine(text: string, pos: number): void {
    if (this.discardingLine) return;
    if (text.length - pos > this.maxLineLength) {
      this.discardingLine = true;
      this.eventBroken = true;
      this.pending = "";
      return;
    }
    this.pending = pos === 0 ? text : text.slice(pos);
  }

  private processLine(text: string, start: number, end: number): void {
    if (start === end) {
      this.dispatch();
      return;
    }
    const first = text.charCodeAt(start);
    if (first === COLON) return;
    let colon = text.indexOf(":", start);
    if (colon === -1 || colon > end) colon = end;
    let valueStart = colon + 1;
    if (valueStart < end && text.charCodeAt(valueStart) === SPACE) valueStart += 1;
    const nameLength = colon - start;
    if (nameLength === 4 && text.startsWith("data", start)) {
      const value = valueStart >= end ? "" : text.slice(valueStart, end);
      if (this.dataLines === 0) this.data = value;
      else this.data += "\n" + value;
      this.dataLines += 1;
      if (this.data.length > this.maxLineLength) {
        this.eventBroken = true;
        this.data = "";
      }
    } else if (nameLength === 5 && text.startsWith("event", start)) {
      this.eventType = valueStart >= end ? "" : text.slice(valueStart, end);
    } else if (nameLength === 2 && text.startsWith("id", start)) {
      const value = valueStart >= end ? "" : text.slice(valueStart, end);
      if (!value.includes("\0")) this.lastEventId = value;
    }
    // "retry" and unknown fields are ignored, as the spec says for a reader.
  }

  private dispatch(): void {
    if (this.dataLines > 0 && !this.eventBroken) {
      this.onEvent({ event: this.eventType === "" ? "message" : this.eventType, data: this.data, id: this.lastEventId });
    }
    this.resetEvent();
  }

  private resetEvent(): void {
    this.eventType = "";
    this.data = "";
    this.dataLines = 0;
    this.eventBroken = false;
  }
}

export function createSseParser(onEvent: (event: SseEvent) => void, options?: SseParserOptions): SseParser {
  return new SseParser(onEvent, options);
}

/** Parses one complete event block (text up to and including its blank line, or without it). */
export function parseSseBlock(block: string): SseEvent | undefined {
  let found: SseEvent | undefined;
  const parser = new SseParser((event) => {
    found ??= event;
  });
  parser.pushText(block);
  parser.end({ dispatchIncomplete: true });
  return found;
}
