import { CappedBody } from "./body-buffer.ts";
import type { FormatHandler } from "./format.ts";
import { JsonArraySplitter } from "./json-array.ts";
import { asRecord, lastObjectField, parseJson } from "./json-fields.ts";
import { anthropicMessagesHandler } from "./readers/anthropic-messages.ts";
import { bedrockConverseHandler } from "./readers/bedrock-converse.ts";
import { bedrockInvokeHandler } from "./readers/bedrock-invoke.ts";
import { EventStreamFrames, type EventStreamMessage } from "./eventstream.ts";
import { geminiHandler } from "./readers/gemini.ts";
import { noUsageHandler } from "./readers/none.ts";
import { openAiChatHandler } from "./readers/openai-chat.ts";
import { openAiEmbeddingsHandler } from "./readers/openai-embeddings.ts";
import { openAiResponsesHandler } from "./readers/openai-responses.ts";
import { SseParser, type SseEvent } from "./sse.ts";
import { bodyOutputText, looseStrings, OutputTextCollector, OUTPUT_KEYS } from "./estimate/output-text.ts";
import type { UsageReader, UsageReport, WireFormat } from "./types.ts";

/** A JSON body is kept whole up to this size and parsed once at the end. */
export const JSON_BODY_CAP_BYTES = 8 * 1024 * 1024;
/** Past the cap, the last bytes kept to find the trailing usage object in. */
export const JSON_TAIL_BYTES = 64 * 1024;

export interface UsageReaderOptions {
  /** The request asked for a stream. A streamed answer that starts with `{` (an error body,
   * or a server that ignored `stream`) is still read as JSON; `[` as a streamed JSON array. */
  streaming: boolean;
  /** Override the JSON body cap (tests). */
  jsonCapBytes?: number | undefined;
}

/** The generated text a response carried, for an estimate when its usage never arrived. */
export interface RelayedOutput {
  text: string;
  /** Multiplies the text's count when streamed payloads past the kept cap were only measured. */
  scale: number;
}

const handlers: Record<WireFormat, () => FormatHandler> = {
  "openai-chat": openAiChatHandler,
  "openai-responses": openAiResponsesHandler,
  "anthropic-messages": anthropicMessagesHandler,
  gemini: geminiHandler,
  "openai-embeddings": openAiEmbeddingsHandler,
  "bedrock-invoke": bedrockInvokeHandler,
  "bedrock-converse": bedrockConverseHandler,
  none: noUsageHandler,
};

type Mode = "sniffing" | "sse" | "json" | "json-array" | "eventstream";

/** Formats whose streams are AWS event-stream frames rather than SSE. */
const EVENT_STREAM_FORMATS: ReadonlySet<WireFormat> = new Set(["bedrock-invoke", "bedrock-converse"]);

/**
 * Reads token usage from response bytes as they pass to the client. `push` never throws
 * and never awaits; `finish` returns whatever was seen (partial streams included).
 */
export function createUsageReader(format: WireFormat, opts: UsageReaderOptions): UsageReader {
  if (format === "none") return NO_USAGE_READER;
  return new BodyUsageReader(format, handlers[format](), opts);
}

const NO_USAGE_READER: UsageReader = {
  push: () => undefined,
  finish: () => noUsageHandler().report(),
  output: () => ({ text: "", scale: 1 }),
};

class BodyUsageReader implements UsageReader {
  private mode: Mode;
  private sse: SseParser | undefined;
  private array: JsonArraySplitter | undefined;
  private frames: EventStreamFrames | undefined;
  private body: CappedBody | undefined;
  private finished: UsageReport | undefined;
  private readonly cap: number;
  private readonly collector: OutputTextCollector;
  /** The JSON body (or a streamed array's elements, read whole), kept by readBody for `output()`. */
  private readonly parsedBodies: Array<Record<string, unknown>> = [];
  private bodySource: string | undefined;

  constructor(
    private readonly format: WireFormat,
    private readonly handler: FormatHandler,
    opts: UsageReaderOptions,
  ) {
    this.cap = opts.jsonCapBytes ?? JSON_BODY_CAP_BYTES;
    this.mode = opts.streaming ? "sniffing" : "json";
    this.collector = new OutputTextCollector(format);
  }

  push(chunk: Uint8Array): void {
    if (this.finished || chunk.byteLength === 0) return;
    try {
      if (this.mode === "sniffing") this.sniff(chunk);
      this.route(chunk);
    } catch (error) {
      // A reader bug must not break the stream it taps: stop reading, keep what was counted
      // and say why in the report (the proxy logs it without any body content).
      this.finished = { ...this.handler.report(), readerError: describe(error) };
    }
  }

  finish(): UsageReport {
    if (this.finished) return this.finished;
    try {
      if (this.mode === "sse") this.sse?.end({ dispatchIncomplete: true });
      else if (this.mode === "json") this.readBody();
      this.finished = this.handler.report();
    } catch (error) {
      this.finished = { ...this.handler.report(), readerError: describe(error) };
    }
    return this.finished;
  }

  /**
   * The generated text seen (call after `finish`): streamed deltas, or the JSON body's
   * content; for a body cut mid-JSON, the text-valued strings it had so far.
   */
  output(): RelayedOutput {
    if (this.mode === "sse" || this.mode === "json-array" || this.mode === "eventstream") return this.collector.text();
    if (this.parsedBodies.length > 0) return { text: this.parsedBodies.map((body) => bodyOutputText(this.format, body)).join(""), scale: 1 };
    if (this.bodySource !== undefined) return { text: looseStrings(this.bodySource, OUTPUT_KEYS).join(""), scale: 1 };
    return { text: "", scale: 1 };
  }

  private sniff(chunk: Uint8Array): void {
    if (EVENT_STREAM_FORMATS.has(this.format)) {
      // A frame starts with its length's high byte (0 below 16 MiB); a JSON error body with "{".
      this.mode = chunk[0] === 123 /* { */ ? "json" : "eventstream";
      return;
    }
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as number;
      if (c === 32 || c === 10 || c === 13 || c === 9) continue;
      this.mode = c === 123 /* { */ ? "json" : c === 91 /* [ */ ? "json-array" : "sse";
      return;
    }
  }

  private route(chunk: Uint8Array): void {
    switch (this.mode) {
      case "sse":
        this.sse ??= new SseParser((event) => this.onSseEvent(event), { maxLineLength: this.cap });
        this.sse.push(chunk);
        return;
      case "json":
        this.body ??= new CappedBody(this.cap, JSON_TAIL_BYTES);
        this.body.push(chunk);
        return;
      case "json-array":
        this.array ??= new JsonArraySplitter((json) => this.onPayload("message", json), this.cap);
        this.array.push(chunk);
        return;
      case "eventstream":
        this.frames ??= new EventStreamFrames((message) => this.onFrame(message));
        this.frames.push(chunk);
        return;
      case "sniffing":
        return;
    }
  }

  /**
   * One event-stream message as the payload the format's handler reads: an InvokeModel
   * `chunk` is the model's own event, base64 in `bytes`; a Converse event is its JSON body,
   * named by its `:event-type`; an exception or error is `exception`.
   */
  private onFrame(message: EventStreamMessage): void {
    const body = frameText.decode(message.body);
    if (message.messageType !== "event") return this.onPayload("exception", body);
    if (this.format === "bedrock-invoke") {
      if (message.type !== "chunk") return;
      const bytes = asRecord(parseJson(body))?.["bytes"];
      if (typeof bytes === "string") this.onPayload("message", decodeBase64Text(bytes));
      return;
    }
    this.onPayload(message.type, body);
  }

  private onSseEvent(event: SseEvent): void {
    this.onPayload(event.event, event.data);
  }

  private onPayload(event: string, data: string): void {
    this.collector.push(event, data);
    if (this.handler.ended || !this.handler.wants(event, data)) return;
    const payload = asRecord(parseJson(data));
    if (payload) this.handler.onStreamPayload(event, payload);
  }

  private readBody(): void {
    if (!this.body) return;
    const source = this.body.text();
    this.bodySource = source;
    if (!this.body.truncated) {
      const parsed = parseJson(source);
      if (Array.isArray(parsed)) {
        // A streamed JSON array (Gemini without alt=sse) read as a whole: each element is a chunk.
        for (const element of parsed) {
          const record = asRecord(element);
          if (record) this.parsedBodies.push(record);
          if (record && !this.handler.ended) this.handler.onStreamPayload("message", record);
        }
        return;
      }
      const record = asRecord(parsed);
      if (record) {
        this.parsedBodies.push(record);
        this.handler.onBody(record);
      }
      return;
    }
    const key = this.handler.usageKey;
    const usage = lastObjectField(source, key);
    if (usage) this.handler.onBody({ [key.slice(1, -1)]: usage });
  }
}

const frameText = new TextDecoder("utf-8");

/** Base64 to the UTF-8 text it encodes (atob is the runtime-neutral decoder; it yields bytes as code units). */
function decodeBase64Text(encoded: string): string {
  const binary = atob(encoded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return frameText.decode(bytes);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : "non-error thrown";
}
