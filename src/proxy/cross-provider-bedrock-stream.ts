import { EventStreamFrames, type EventStreamMessage } from "../usage/eventstream.ts";
import type { ChunkTransform } from "./transport.ts";

/** Bedrock's own counts on a streamed invocation's last chunk: Anthropic's stream has no such field. */
const METRICS_KEY = "amazon-bedrock-invocationMetrics";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const NO_BYTES = new Uint8Array(0);

/** Bedrock's stream exceptions as the error type Anthropic's stream names the same failure by. */
const ERROR_TYPE_BY_EXCEPTION: Readonly<Record<string, string>> = {
  throttlingException: "rate_limit_error",
  ThrottlingException: "rate_limit_error",
  serviceUnavailableException: "overloaded_error",
  ServiceUnavailableException: "overloaded_error",
  validationException: "invalid_request_error",
  ValidationException: "invalid_request_error",
};

function sseEvent(type: string, data: string): string {
  return `event: ${type}\ndata: ${data}\n\n`;
}

function errorEvent(errorType: string, message: string): string {
  return sseEvent("error", JSON.stringify({ type: "error", error: { type: errorType, message } }));
}

/**
 * Claude's streamed answer from Bedrock's InvokeModelWithResponseStream, re-framed as the
 * Server-Sent Events Anthropic's Messages API sends: each `chunk` frame's base64 `bytes` is
 * one Anthropic event (`{"type":"message_start",…}`), sent as `event: <type>` / `data: <json>`.
 * The event's JSON passes as Bedrock decoded it, except the last one's
 * `amazon-bedrock-invocationMetrics`, which is removed (Anthropic's events never carry it;
 * the ledger reads it from the upstream bytes, before this). An exception frame becomes
 * Anthropic's `error` event, worded by the gateway. A frame that cannot be read (bad length
 * or checksum, a chunk that is not an event) ends the client's stream with an error event and
 * nothing after it: the client never parses guessed bytes.
 */
export function bedrockStreamAsAnthropicSse(): ChunkTransform {
  let out: string[] = [];
  let broken = false;
  const fail = (message: string) => {
    if (broken) return;
    broken = true;
    out.push(errorEvent("api_error", message));
  };
  const frames = new EventStreamFrames((message: EventStreamMessage) => {
    if (broken) return;
    if (message.messageType !== "event") {
      fail(`The fallback provider (Amazon Bedrock) ended the stream with ${message.type || message.messageType}; the answer is incomplete.`);
      const type = ERROR_TYPE_BY_EXCEPTION[message.type];
      if (type !== undefined) out[out.length - 1] = errorEvent(type, `The fallback provider (Amazon Bedrock) ended the stream with ${message.type}; the answer is incomplete.`);
      return;
    }
    if (message.type !== "chunk") return;
    const event = anthropicEventOf(message.body);
    if (event === undefined) return fail("The fallback provider (Amazon Bedrock) sent a stream chunk that is not an Anthropic event; the answer is incomplete.");
    out.push(sseEvent(event.type, event.data));
  });
  const drain = (): Uint8Array => {
    if (out.length === 0) return NO_BYTES;
    const text = out.join("");
    out = [];
    return encoder.encode(text);
  };
  return {
    transform(chunk) {
      if (broken) return NO_BYTES;
      try {
        frames.push(chunk);
      } catch (err) {
        // A corrupt frame (length or checksum): the codec says so; nothing after it can be trusted.
        if (!(err instanceof Error)) throw err;
        fail("The fallback provider (Amazon Bedrock) sent a stream frame that could not be read; the answer is incomplete.");
      }
      return drain();
    },
    flush() {
      if (!broken && frames.incompleteBytes > 0) fail("The fallback provider (Amazon Bedrock) ended the stream in the middle of a frame; the answer is incomplete.");
      return drain();
    },
  };
}

/** The chunk's Anthropic event: its type and its JSON as the client gets it; undefined when the chunk is not one. */
function anthropicEventOf(body: Uint8Array): { type: string; data: string } | undefined {
  let text: string;
  let json: unknown;
  try {
    const chunk = JSON.parse(decoder.decode(body)) as unknown;
    const bytes = isRecord(chunk) ? chunk["bytes"] : undefined;
    if (typeof bytes !== "string") return undefined;
    text = decoder.decode(base64Bytes(bytes));
    json = JSON.parse(text);
  } catch (err) {
    // Not UTF-8 or not JSON: the chunk is not an event (the caller ends the stream with an error event).
    if (err instanceof SyntaxError || err instanceof TypeError || (err instanceof Error && err.name === "InvalidCharacterError")) return undefined;
    throw err;
  }
  if (!isRecord(json) || typeof json["type"] !== "string" || !/^[a-z_]+$/.test(json["type"])) return undefined;
  if (METRICS_KEY in json) {
    const { [METRICS_KEY]: _metrics, ...event } = json;
    return { type: json["type"], data: JSON.stringify(event) };
  }
  // A JSON text may hold line breaks between tokens: one data line per event keeps the SSE framing.
  return { type: json["type"], data: text.includes("\n") || text.includes("\r") ? JSON.stringify(json) : text };
}

/** atob is the runtime-neutral base64 decoder; it yields the bytes as code units. */
function base64Bytes(encoded: string): Uint8Array {
  const binary = atob(encoded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
