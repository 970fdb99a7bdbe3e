import { concatBytes } from "./json-array.ts";
import { asRecord, parseJson } from "./json-fields.ts";
import { parseSseBlock } from "./sse.ts";

/**
 * When a client streams OpenAI chat WITHOUT `stream_options.include_usage`, the proxy asks
 * for usage anyway (or the stream could not be billed) and must hide the one extra chunk
 * that answer adds: the usage-only event (`"choices": []` with a `usage` object) before
 * `data: [DONE]`. This filter forwards every complete event at once and byte-for-byte,
 * drops exactly that event, and holds back only an unterminated trailing event.
 *
 * Decision: the `"usage": null` member OpenAI adds to every other chunk in this mode is
 * left in place. Rewriting each chunk would cost a parse and re-serialisation per event on
 * the hot path and break byte-identity; a null field is valid for every OpenAI SDK (the
 * field is nullable in the published schema) and clients that do not ask for usage ignore it.
 */
export interface InjectedUsageFilter {
  transform(chunk: Uint8Array): Uint8Array;
  /** End of stream: the held-back tail (an event without its blank line), unless it is the usage-only event. */
  flush(): Uint8Array;
}

const LF = 10;
const CR = 13;
const EMPTY = new Uint8Array(0);
/** A usage-only chunk is a few hundred bytes; a partial event larger than this is forwarded unfiltered. */
const MAX_HELD_BYTES = 64 * 1024;
const USAGE_BYTES = new TextEncoder().encode('"usage"');
const decoder = new TextDecoder("utf-8");

export function createInjectedUsageFilter(): InjectedUsageFilter {
  let held: Uint8Array = EMPTY;
  /** Bytes in the current line so far (across chunks). */
  let lineLength = 0;
  /** The last byte scanned was a CR (a following LF belongs to it). */
  let afterCr = false;
  /**
   * The last chunk ended with an event's final CR: a LF starting the next chunk is the
   * other half of that CRLF and must share the event's fate (dropped or forwarded).
   */
  let leadingLf: "drop" | "forward" | undefined;

  /** Part of the current event was already forwarded (it outgrew MAX_HELD_BYTES), so it cannot be dropped. */
  let currentEventForwarded = false;

  return {
    transform(chunk) {
      let input = chunk;
      const pieces: Uint8Array[] = [];
      let segmentStart = 0;
      let dropped = false;
      if (leadingLf !== undefined && input[0] === LF) {
        // Nothing is held after an event end, so `input` is the whole buffer here.
        if (leadingLf === "drop") {
          input = input.subarray(1);
        } else {
          pieces.push(input.subarray(0, 1));
          segmentStart = 1;
        }
        afterCr = false;
      }
      leadingLf = undefined;
      const heldLength = held.byteLength;
      const buf = heldLength === 0 ? input : concatBytes([held, input]);
      // Jump between line ends with native indexOf; cache each search so LF-only streams
      // do not rescan for a CR that never comes.
      let nextLf = -2;
      let nextCr = -2;
      for (let i = Math.max(heldLength, segmentStart); i < buf.length; i++) {
        let c = buf[i] as number;
        if (c === LF && afterCr) {
          // The LF of a CRLF: its line end was already counted at the CR.
          afterCr = false;
          continue;
        }
        if (c !== LF && c !== CR) {
          if (nextLf !== -1 && nextLf < i) nextLf = buf.indexOf(LF, i);
          if (nextCr !== -1 && nextCr < i) nextCr = buf.indexOf(CR, i);
          const eol = nextLf === -1 ? nextCr : nextCr === -1 ? nextLf : Math.min(nextLf, nextCr);
          if (eol === -1) {
            lineLength += buf.length - i;
            afterCr = false;
            break;
          }
          lineLength += eol - i;
          i = eol;
          c = buf[i] as number;
        }
        afterCr = c === CR;
        const blankLine = lineLength === 0;
        lineLength = 0;
        if (!blankLine) continue;
        // A blank line ends the event; a CRLF's LF goes with it when it is already here.
        let end = i + 1;
        let loneCrAtEnd = false;
        if (c === CR) {
          if (i + 1 === buf.length) loneCrAtEnd = true;
          else if (buf[i + 1] === LF) {
            end = i + 2;
            i++;
            afterCr = false;
          }
        }
        const segment = buf.subarray(segmentStart, end);
        if (!currentEventForwarded && isUsageOnlyEvent(segment)) {
          dropped = true;
          if (loneCrAtEnd) leadingLf = "drop";
        } else {
          pieces.push(segment);
          if (loneCrAtEnd) leadingLf = "forward";
        }
        currentEventForwarded = false;
        segmentStart = end;
      }
      if (buf.length - segmentStart > MAX_HELD_BYTES) {
        // Far bigger than any usage-only chunk: pass it on now instead of buffering it.
        pieces.push(buf.subarray(segmentStart));
        segmentStart = buf.length;
        currentEventForwarded = true;
      }
      // A view, not a copy: like the forwarded pieces, it relies on chunks not being reused.
      held = segmentStart < buf.length ? buf.subarray(segmentStart) : EMPTY;
      if (!dropped) return segmentStart === 0 ? EMPTY : buf.subarray(0, segmentStart);
      return pieces.length === 1 ? (pieces[0] as Uint8Array) : concatBytes(pieces);
    },
    flush() {
      const rest = held;
      const forwarded = currentEventForwarded;
      held = EMPTY;
      lineLength = 0;
      afterCr = false;
      leadingLf = undefined;
      currentEventForwarded = false;
      if (rest.byteLength === 0 || (!forwarded && isUsageOnlyEvent(rest))) return EMPTY;
      return rest;
    },
  };
}

/** The usage-only chunk: `choices` is an empty array and `usage` an object. Cheap byte test first. */
export function isUsageOnlyEvent(segment: Uint8Array): boolean {
  // Cheap native scans first: the usage-only chunk has an empty array (`"choices":[]`) and an
  // object after `"usage"` (every other chunk in this mode has `"usage":null`).
  if (!hasEmptyArray(segment) || !hasUsageObject(segment)) return false;
  const event = parseSseBlock(decoder.decode(segment));
  if (!event) return false;
  const payload = asRecord(parseJson(event.data));
  if (!payload) return false;
  const choices = payload["choices"];
  return Array.isArray(choices) && choices.length === 0 && asRecord(payload["usage"]) !== undefined;
}

function hasEmptyArray(segment: Uint8Array): boolean {
  for (let at = segment.indexOf(93 /* ] */); at !== -1; at = segment.indexOf(93, at + 1)) {
    let i = at - 1;
    while (segment[i] === 32 || segment[i] === 9) i--;
    if (segment[i] === 91 /* [ */) return true;
  }
  return false;
}

function hasUsageObject(segment: Uint8Array): boolean {
  for (let at = indexOfBytes(segment, USAGE_BYTES, 0); at !== -1; at = indexOfBytes(segment, USAGE_BYTES, at + 1)) {
    let i = skipSpace(segment, at + USAGE_BYTES.length);
    if (segment[i] !== 58 /* : */) continue;
    i = skipSpace(segment, i + 1);
    if (segment[i] === 123 /* { */) return true;
  }
  return false;
}

function skipSpace(bytes: Uint8Array, from: number): number {
  let i = from;
  while (bytes[i] === 32 || bytes[i] === 9) i++;
  return i;
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0] as number;
  const last = haystack.length - needle.length;
  outer: for (let i = haystack.indexOf(first, from); i !== -1 && i <= last; i = haystack.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
