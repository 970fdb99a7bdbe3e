import { asRecord, parseJson } from "./json-fields.ts";
import { parseSseBlock, SseEventFramer } from "./sse.ts";

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

/** A usage-only chunk is a few hundred bytes; a partial event larger than this is passed on unfiltered. */
const MAX_HELD_BYTES = 64 * 1024;
const USAGE_BYTES = new TextEncoder().encode('"usage"');
const decoder = new TextDecoder("utf-8");

/** The shared event framer (src/usage/sse.ts) dropping the usage-only event, with the unterminated tail given back at the end. */
export function createInjectedUsageFilter(): InjectedUsageFilter {
  let framer = new SseEventFramer({ drop: isUsageOnlyEvent, maxHeldBytes: MAX_HELD_BYTES });
  return {
    transform: (chunk) => framer.push(chunk),
    flush() {
      const rest = framer.tail();
      const passing = framer.passingPartialEvent;
      framer = new SseEventFramer({ drop: isUsageOnlyEvent, maxHeldBytes: MAX_HELD_BYTES });
      if (rest.byteLength === 0 || (!passing && isUsageOnlyEvent(rest))) return new Uint8Array(0);
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
