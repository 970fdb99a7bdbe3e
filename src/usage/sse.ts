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

export interface SseEventFramerOptions {
  /**
   * Called with each complete event (its bytes, blank line included); true drops it instead
   * of passing it on. Only the injected-usage filter uses it (src/usage/injected-usage-filter.ts).
   */
  drop?: ((event: Uint8Array) => boolean) | undefined;
  /**
   * Longest unterminated event held back, in bytes. Past it the event is passed on as it
   * comes (memory stays bounded) and `passingPartialEvent` says so until it ends.
   */
  maxHeldBytes?: number | undefined;
}

/** 16 MiB: far above any text event; an inline image or a huge tool call still fits. */
export const DEFAULT_MAX_HELD_EVENT_BYTES = 16 * 1024 * 1024;
const NO_BYTES = new Uint8Array(0);

/**
 * THE shared event-boundary scanner over raw bytes, the byte-level half of the same spec
 * reading as SseParser (an event ends at a blank line; `\n`, `\r\n` and `\r` end a line,
 * also when split across chunks). `push` returns every complete event at once, byte for
 * byte, and holds back only the unterminated tail, so whoever reads what it returns never
 * sees half an event; `tail`/`discardTail` are the end of the stream. No decoding, no
 * copy unless an event spans chunks: native indexOf jumps from line end to line end.
 */
export class SseEventFramer {
  private held: Uint8Array[] = [];
  private heldLength = 0;
  /** Bytes in the current line so far (across chunks). */
  private lineLength = 0;
  /** The last byte scanned was a CR ending a content line (a LF next is its other half). */
  private afterCr = false;
  /**
   * The last chunk ended with the CR of an event's blank line: a LF starting the next chunk
   * is the other half of that CRLF and shares the event's fate (passed on or dropped).
   */
  private leadingLf: "pass" | "drop" | undefined;
  /** The current event outgrew the hold limit: it is being passed on as it comes. */
  private passing = false;
  private readonly maxHeldBytes: number;
  private readonly drop: ((event: Uint8Array) => boolean) | undefined;

  constructor(options: SseEventFramerOptions = {}) {
    this.maxHeldBytes = options.maxHeldBytes ?? DEFAULT_MAX_HELD_EVENT_BYTES;
    this.drop = options.drop;
  }

  /** Bytes of the unterminated event held back now. */
  get heldBytes(): number {
    return this.heldLength;
  }

  /** Part of the current, unterminated event was already passed on (it outgrew the hold limit). */
  get passingPartialEvent(): boolean {
    return this.passing;
  }

  /**
   * What was passed on ends with the lone CR of an event's blank line: a reader that splits
   * on "\r\n\r\n" (@google/genai) waits for the LF, so whatever follows should start with one.
   */
  get awaitingLf(): boolean {
    return this.leadingLf === "pass";
  }

  /** The complete events this chunk finishes (in order, dropped ones left out). */
  push(chunk: Uint8Array): Uint8Array {
    const length = chunk.length;
    if (length === 0) return NO_BYTES;
    const pieces: Uint8Array[] = [];
    let start = 0;
    if (this.leadingLf !== undefined) {
      if (chunk[0] === LF) {
        if (this.leadingLf === "pass") pieces.push(chunk.subarray(0, 1));
        start = 1;
      }
      this.leadingLf = undefined;
    }
    // The run of this chunk's bytes to pass on in one piece (complete events not dropped).
    let runStart = start;
    let eventStart = start;
    let nextLf = -2;
    let nextCr = -2;
    for (let i = start; i < length; i++) {
      let c = chunk[i] as number;
      if (c === LF && this.afterCr) {
        this.afterCr = false;
        continue;
      }
      if (c !== LF && c !== CR) {
        if (nextLf !== -1 && nextLf < i) nextLf = chunk.indexOf(LF, i);
        if (nextCr !== -1 && nextCr < i) nextCr = chunk.indexOf(CR, i);
        const eol = nextLf === -1 ? nextCr : nextCr === -1 ? nextLf : Math.min(nextLf, nextCr);
        if (eol === -1) {
          this.lineLength += length - i;
          this.afterCr = false;
          break;
        }
        this.lineLength += eol - i;
        i = eol;
        c = chunk[i] as number;
      }
      this.afterCr = c === CR;
      const blankLine = this.lineLength === 0;
      this.lineLength = 0;
      if (!blankLine) continue;
      // A blank line ends the event; a CRLF's LF goes with it when it is already here.
      let end = i + 1;
      let loneCr = false;
      if (c === CR) {
        if (end === length) loneCr = true;
        else if (chunk[end] === LF) {
          end++;
          i++;
        }
        this.afterCr = false;
      }
      const wasPassing = this.passing;
      this.passing = false;
      let dropped = false;
      if (this.drop && !wasPassing) {
        const event = this.heldLength === 0 ? chunk.subarray(eventStart, end) : concat([...this.held, chunk.subarray(eventStart, end)], this.heldLength + end - eventStart);
        dropped = this.drop(event);
      }
      if (dropped) {
        if (runStart < eventStart) pieces.push(chunk.subarray(runStart, eventStart));
        runStart = end;
      } else if (this.heldLength > 0) {
        // The event began in an earlier chunk: its held bytes go first.
        if (runStart < eventStart) pieces.push(chunk.subarray(runStart, eventStart));
        pieces.push(...this.held);
        runStart = eventStart;
      }
      this.held = [];
      this.heldLength = 0;
      if (loneCr) this.leadingLf = dropped ? "drop" : "pass";
      eventStart = end;
    }
    if (runStart < eventStart) pieces.push(chunk.subarray(runStart, eventStart));
    if (eventStart < length) {
      const rest = chunk.subarray(eventStart);
      if (this.passing) pieces.push(rest);
      else if (this.heldLength + rest.length > this.maxHeldBytes) {
        // Far past any event worth holding: pass it on now instead of buffering it.
        pieces.push(...this.held, rest);
        this.held = [];
        this.heldLength = 0;
        this.passing = true;
      } else {
        // A view, not a copy: chunks are not reused once handed to the framer.
        this.held.push(rest);
        this.heldLength += rest.length;
      }
    }
    if (pieces.length === 0) return NO_BYTES;
    return pieces.length === 1 ? (pieces[0] as Uint8Array) : concat(pieces);
  }

  /** End of stream: the unterminated tail held back (without resetting), for a caller to judge. */
  tail(): Uint8Array {
    return this.heldLength === 0 ? NO_BYTES : this.held.length === 1 ? (this.held[0] as Uint8Array) : concat(this.held, this.heldLength);
  }

  /** Forgets the held tail and the scanning state (the stream is over). */
  discardTail(): void {
    this.held = [];
    this.heldLength = 0;
    this.lineLength = 0;
    this.afterCr = false;
    this.leadingLf = undefined;
    this.passing = false;
  }
}

function concat(parts: readonly Uint8Array[], total?: number): Uint8Array {
  const size = total ?? parts.reduce((sum, part) => sum + part.byteLength, 0);
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
