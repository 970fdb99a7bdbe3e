import { EventStreamCodec, type Message } from "@smithy/eventstream-codec";

/**
 * AWS's `application/vnd.amazon.eventstream` framing, read as it passes: each frame is a
 * 4-byte big-endian total length, a 4-byte headers length, a prelude CRC32, headers, payload
 * and a message CRC32 (https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html#streaming-event-stream).
 * Frames are cut out of the byte stream here by their length prefix; each whole frame is
 * decoded and checksummed by AWS's own codec (@smithy/eventstream-codec), so a corrupt frame
 * throws instead of being read as something it is not.
 */
export interface EventStreamMessage {
  /** `:message-type`: `event`, `exception` or `error`. */
  messageType: string;
  /** `:event-type` of an event (`chunk`, `metadata`, …), `:exception-type` of an exception, `:error-code` of an error. */
  type: string;
  /** The payload (JSON on Bedrock). */
  body: Uint8Array;
}

/** Frames are at most 16 MiB (the event-stream limit); a longer length prefix is not a frame. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Prelude (8 bytes) + prelude CRC (4) + message CRC (4). */
const MIN_FRAME_BYTES = 16;

const utf8Decoder = new TextDecoder("utf-8");
const utf8Encoder = new TextEncoder();
const codec = new EventStreamCodec(
  (bytes: Uint8Array) => utf8Decoder.decode(bytes),
  (text: string) => utf8Encoder.encode(text),
);

function headerText(message: Message, name: string): string | undefined {
  const header = message.headers[name];
  return header?.type === "string" ? header.value : undefined;
}

/**
 * Splits bytes split anywhere into whole frames and hands each decoded message to `onMessage`.
 * Throws on a frame that cannot be one (bad length, bad checksum): the caller stops reading.
 */
export class EventStreamFrames {
  /** Bytes of the frame being received, kept by reference until it is whole (a frame split in many chunks is joined once). */
  private parts: Uint8Array[] = [];
  private size = 0;
  /** The frame's total length once its first 4 bytes arrived. */
  private expected: number | undefined;

  constructor(private readonly onMessage: (message: EventStreamMessage) => void) {}

  push(chunk: Uint8Array): void {
    let rest = chunk;
    while (rest.byteLength > 0) {
      if (this.expected === undefined) {
        const needed = 4 - this.size;
        if (this.size === 0 && rest.byteLength >= 4) this.expected = frameLength(rest);
        else {
          const take = rest.subarray(0, Math.min(needed, rest.byteLength));
          this.keep(take.slice());
          rest = rest.subarray(take.byteLength);
          if (this.size < 4) return;
          this.expected = frameLength(join(this.parts, this.size));
          continue;
        }
      }
      const missing = this.expected - this.size;
      if (rest.byteLength < missing) {
        // Kept as a copy: the chunk belongs to the transport, which may reuse it.
        this.keep(rest.slice());
        return;
      }
      const tail = rest.subarray(0, missing);
      const frame = this.size === 0 ? tail : join([...this.parts, tail], this.expected);
      rest = rest.subarray(missing);
      this.parts = [];
      this.size = 0;
      this.expected = undefined;
      this.decode(frame);
    }
  }

  /** Bytes of a frame that had started but not ended (a cut stream). */
  get incompleteBytes(): number {
    return this.size;
  }

  private keep(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.size += bytes.byteLength;
  }

  private decode(frame: Uint8Array): void {
    const message = codec.decode(frame);
    const messageType = headerText(message, ":message-type") ?? "event";
    const type = messageType === "event" ? headerText(message, ":event-type") : messageType === "exception" ? headerText(message, ":exception-type") : headerText(message, ":error-code");
    this.onMessage({ messageType, type: type ?? "", body: message.body });
  }
}

function frameLength(bytes: Uint8Array): number {
  const length = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false);
  if (length < MIN_FRAME_BYTES || length > MAX_FRAME_BYTES) throw new Error(`event-stream frame length ${length} is outside ${MIN_FRAME_BYTES}..${MAX_FRAME_BYTES}`);
  return length;
}

function join(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part.subarray(0, Math.min(part.byteLength, size - at)), at);
    at += part.byteLength;
    if (at >= size) break;
  }
  return out;
}
