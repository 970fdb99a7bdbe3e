import { SseEventFramer } from "../usage/sse.ts";
import { ANSWER_FAILURES, streamErrorEvent } from "./transport-lifecycle.ts";
import type { ChunkTransform, ForwardOptions } from "./transport.ts";

/**
 * What the client of one forwarded answer is sent, the same on every runtime (both
 * transports call it; the byte moving stays theirs). A Server-Sent Events answer is framed:
 * every complete event goes out the moment its blank line arrives, an unterminated tail is
 * held until it completes, and when the upstream breaks the tail is dropped and the
 * provider's error event follows on a clean boundary, so no client ever parses half an
 * event. Anything else (JSON, Gemini's streamed JSON array) passes byte for byte.
 */
export interface ClientStream {
  /** The answer is read as Server-Sent Events (framed). */
  readonly framed: boolean;
  /** The bytes to send now for one upstream chunk (the tap has seen the chunk already). */
  push(chunk: Uint8Array): Uint8Array;
  /**
   * The upstream ended its body. `bytes` is what is left to send; `failure` is set when it
   * ended inside an event (then `bytes` is the error event, or undefined: close the
   * connection, nothing clean can follow).
   */
  end(): { bytes: Uint8Array | undefined; failure?: string };
  /**
   * The upstream broke or a deadline ended the answer: the bytes that end the client's
   * stream cleanly (the error event), or undefined when only closing the connection is
   * honest (not an event stream, or half an event already went out).
   */
  cut(message?: string): Uint8Array | undefined;
}

const encoder = new TextEncoder();
const NO_BYTES = new Uint8Array(0);
/** The one unterminated tail a complete stream may end with: OpenAI-compatible servers that skip the last blank line. */
const DONE_TAIL = /^data: ?\[DONE\][\r\n]*$/;

/** Framed when it says it is an event stream (or says nothing on a success): an error page or JSON body passes untouched. */
function isEventStream(status: number, contentType: string | undefined): boolean {
  if (contentType === undefined || contentType === "") return status < 400;
  return contentType.toLowerCase().includes("text/event-stream");
}

export function createClientStream(options: Pick<ForwardOptions, "sse" | "streamErrorEvent" | "streamErrorFor">, status: number, contentType: string | undefined, transform: ChunkTransform | undefined): ClientStream {
  if (!options.sse || !isEventStream(status, contentType)) return passThrough(transform);
  const framer = new SseEventFramer({ drop: status < 400 ? options.sse.dropEvent : undefined });
  const errorBytes = (message?: string): Uint8Array | undefined => {
    // Half an event already went out (past the hold limit): anything written now would join it.
    if (framer.passingPartialEvent) return undefined;
    const event = streamErrorEvent(options, message);
    if (event === undefined) return undefined;
    return encoder.encode(framer.awaitingLf ? `\n${event}` : event);
  };
  return {
    framed: true,
    push(chunk) {
      return framer.push(transform ? transform.transform(chunk) : chunk);
    },
    end() {
      const rest = transform?.flush();
      const last = rest && rest.byteLength > 0 ? framer.push(rest) : NO_BYTES;
      const tail = framer.tail();
      const passing = framer.passingPartialEvent;
      if (tail.byteLength === 0 && !passing) return { bytes: last };
      const tailText = tail.byteLength < 32 ? new TextDecoder().decode(tail) : "";
      if (!passing && DONE_TAIL.test(tailText)) {
        // Complete in all but its blank line: pass it on, terminated.
        framer.discardTail();
        return { bytes: concat([last, tail, encoder.encode(tailText.endsWith("\n") && !tailText.endsWith("\r\n") ? "\n" : tailText.endsWith("\r\n") ? "\r\n" : "\n\n")]) };
      }
      const error = errorBytes("The upstream provider's stream ended in the middle of an event; the answer is incomplete.");
      framer.discardTail();
      return { bytes: error === undefined ? undefined : concat([last, error]), failure: ANSWER_FAILURES.streamTruncated };
    },
    cut(message) {
      const error = errorBytes(message);
      framer.discardTail();
      return error;
    },
  };
}

function passThrough(transform: ChunkTransform | undefined): ClientStream {
  return {
    framed: false,
    push: (chunk) => (transform ? transform.transform(chunk) : chunk),
    end: () => ({ bytes: transform ? transform.flush() : NO_BYTES }),
    cut: () => undefined,
  };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const nonEmpty = parts.filter((p) => p.byteLength > 0);
  if (nonEmpty.length === 1) return nonEmpty[0] as Uint8Array;
  const out = new Uint8Array(nonEmpty.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of nonEmpty) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
