import { describe, expect, it } from "vitest";
import { createClientStream, type ClientStream } from "./client-stream.ts";
import { SseEventFramer } from "../usage/sse.ts";
import { isUsageOnlyEvent } from "../usage/injected-usage-filter.ts";
import { anthropic } from "../providers/anthropic.ts";
import { google } from "../providers/google.ts";
import { openAiStreamErrorEvent } from "../providers/openai.ts";
import * as f from "../../test/support/usage-streams.ts";
import { readLikeGenai, readWithEventSourceParser } from "../../test/support/stream-clients.ts";
import type { WireFormat } from "../usage/types.ts";

const decoder = new TextDecoder();
const MESSAGE = "The upstream provider connection failed mid-stream; the answer is incomplete.";

interface Sample {
  name: string;
  text: string;
  format: WireFormat;
  errorEvent: (message: string) => string | undefined;
  /** The blank-line terminator the sample uses. */
  eol: "\n" | "\r\n" | "\r";
}

const anthropicError = (m: string) => anthropic.streamErrorEvent(m, "anthropic-messages");
const samples: Sample[] = [
  { name: "Anthropic (LF)", text: f.anthropicStream, format: "anthropic-messages", errorEvent: anthropicError, eol: "\n" },
  { name: "Anthropic (CRLF)", text: f.anthropicStream.replaceAll("\n", "\r\n"), format: "anthropic-messages", errorEvent: anthropicError, eol: "\r\n" },
  { name: "Anthropic (CR)", text: f.anthropicStream.replaceAll("\n", "\r"), format: "anthropic-messages", errorEvent: anthropicError, eol: "\r" },
  { name: "OpenAI chat", text: f.openAiChatStream, format: "openai-chat", errorEvent: (m) => openAiStreamErrorEvent(m, "openai-chat"), eol: "\n" },
  { name: "OpenAI Responses", text: f.openAiResponsesStream, format: "openai-responses", errorEvent: (m) => openAiStreamErrorEvent(m, "openai-responses"), eol: "\n" },
  { name: "Gemini alt=sse (CRLF)", text: f.geminiSseStream, format: "gemini", errorEvent: (m) => google.streamErrorEvent(m, "gemini"), eol: "\r\n" },
];

function stream(sample: Sample, contentType = "text/event-stream", dropEvent?: (event: Uint8Array) => boolean): ClientStream {
  return createClientStream({ sse: { dropEvent }, streamErrorEvent: sample.errorEvent(MESSAGE), streamErrorFor: sample.errorEvent }, 200, contentType, undefined);
}

/** Byte offsets just past each event's blank line. */
function boundaries(bytes: Uint8Array, eol: string): number[] {
  const terminator = new TextEncoder().encode(eol + eol);
  const out: number[] = [];
  outer: for (let i = 0; i + terminator.length <= bytes.length; i++) {
    for (let j = 0; j < terminator.length; j++) if (bytes[i + j] !== terminator[j]) continue outer;
    out.push(i + terminator.length);
    i += terminator.length - 1;
  }
  return out;
}

/** What the client must have received before the error event when the upstream is cut after `at` bytes. */
function completePrefix(bytes: Uint8Array, sample: Sample, at: number): Uint8Array {
  let end = 0;
  for (const b of boundaries(bytes, sample.eol)) {
    if (b <= at) end = b;
    // Cut between a CRLF's CR and LF: the CR already ended the event; the error event supplies the LF.
    else if (sample.eol === "\r\n" && b - 1 === at) end = b;
  }
  return bytes.subarray(0, end);
}

function feed(client: ClientStream, chunks: Uint8Array[]): Uint8Array[] {
  return chunks.map((c) => client.push(c)).filter((c) => c.byteLength > 0);
}

function joined(parts: readonly Uint8Array[]): string {
  return parts.map((p) => decoder.decode(p, { stream: true })).join("") + decoder.decode();
}

function bytewise(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
}

describe.each(samples)("client stream framing: $name", (sample) => {
  const bytes = f.encode(sample.text);

  it("an upstream cut at every byte offset: the client gets every complete event, then the error event, never half an event", () => {
    for (let at = 0; at < bytes.length; at++) {
      const client = stream(sample);
      const cut = bytes.subarray(0, at);
      // Split once more inside what arrived: events also span chunks.
      const out = feed(client, [cut.subarray(0, at >> 1), cut.subarray(at >> 1)]);
      const error = client.cut(MESSAGE);
      expect(error, `cut at ${at}`).toBeDefined();
      const received = joined([...out, error as Uint8Array]);
      const prefix = completePrefix(bytes, sample, at);
      // After a lone CR that ended an event, the error starts with the LF a CRLF reader may wait for.
      const lf = prefix.length === at && prefix[at - 1] === 13 ? "\n" : "";
      expect(received, `cut at ${at}`).toBe(decoder.decode(prefix) + lf + sample.errorEvent(MESSAGE));
      const parsed = readWithEventSourceParser(received);
      expect(parsed.broken, `cut at ${at}`).toEqual([]);
      if (sample.format !== "gemini") expect(parsed.events.at(-1)?.data, `cut at ${at}`).toContain(MESSAGE);
    }
  });

  it("events arriving byte by byte go out whole, each the moment its blank line arrives", () => {
    const client = stream(sample);
    const ends = new Set(boundaries(bytes, sample.eol).map((b) => (sample.eol === "\r\n" ? b - 1 : b)));
    let sent = 0;
    for (let i = 0; i < bytes.length; i++) {
      const out = client.push(bytes.subarray(i, i + 1));
      // Nothing before a terminator; the whole event (up to its last CR for CRLF) at once when it arrives.
      if (ends.has(i + 1)) expect(out.byteLength, `byte ${i}`).toBeGreaterThan(0);
      else if (!(sample.eol === "\r\n" && ends.has(i))) expect(out.byteLength, `byte ${i}`).toBe(0);
      sent += out.byteLength;
    }
    expect(sent).toBe(bytes.length);
    expect(client.end()).toEqual({ bytes: new Uint8Array(0) });
  });

  it("a body that ends cleanly inside an event: the tail is dropped and the error event ends it (upstream_stream_truncated)", () => {
    const all = new Set(boundaries(bytes, sample.eol));
    for (let at = 1; at < bytes.length; at += 3) {
      const client = stream(sample);
      const out = feed(client, bytewise(bytes.subarray(0, at)));
      const { bytes: rest, failure } = client.end();
      const received = joined([...out, ...(rest ? [rest] : [])]);
      expect(readWithEventSourceParser(received).broken, `end at ${at}`).toEqual([]);
      if (all.has(at)) expect(failure, `end at ${at}`).toBeUndefined();
      else if (!(sample.eol === "\r\n" && all.has(at + 1))) expect(failure, `end at ${at}`).toBe("upstream_stream_truncated");
    }
  });

  it("a cut right after a terminator sends nothing held, and the whole stream passes byte for byte", () => {
    const client = stream(sample);
    expect(joined(feed(client, [bytes]))).toBe(sample.text);
    expect(decoder.decode(client.cut(MESSAGE))).toBe((sample.eol === "\r" ? "\n" : "") + sample.errorEvent(MESSAGE));
  });
});

describe("client stream framing: Gemini as @google/genai (Gemini CLI) reads it", () => {
  const sample = samples.find((s) => s.format === "gemini") as Sample;
  const bytes = f.encode(sample.text);

  it("a cut at every offset ends in an ApiError carrying the gateway's message, never a JSON SyntaxError", () => {
    for (let at = 0; at < bytes.length; at++) {
      const client = stream(sample);
      const out = feed(client, [bytes.subarray(0, at)]);
      const error = client.cut(MESSAGE) as Uint8Array;
      // Each write reaches the client as its own read (the transports write the error on its own).
      const outcome = readLikeGenai([...out.map((o) => decoder.decode(o)), decoder.decode(error)]);
      expect(outcome.kind, `cut at ${at}`).toBe("api_error");
      if (outcome.kind === "api_error") expect(outcome.message).toContain(MESSAGE);
      // Joined into one read by the network, it still fails cleanly: no SyntaxError of a half event.
      const coalesced = readLikeGenai([joined([...out, error])]);
      expect(coalesced.kind === "api_error" || (coalesced.kind === "error" && coalesced.message === "Incomplete JSON segment at the end"), `cut at ${at}: ${JSON.stringify(coalesced)}`).toBe(true);
    }
  });

  it("without the framing (the old blank line + error), genai parses the half event and dies with a SyntaxError", () => {
    // The mechanism's reason: what a raw pass-through with the old suffix gave Gemini CLI.
    const at = boundaries(bytes, "\r\n")[0] as number;
    const half = decoder.decode(bytes.subarray(0, at + 30));
    const oldErrorEvent = `\n\ndata: ${JSON.stringify({ error: { code: 502, message: MESSAGE, status: "UNAVAILABLE" } })}\n\n`;
    const outcome = readLikeGenai([half, oldErrorEvent]);
    expect(outcome.kind).toBe("error");
    if (outcome.kind === "error") expect(outcome.message).toMatch(/SyntaxError/);
  });
});

describe("client stream framing: what is not an event stream, or too big to hold", () => {
  it("Gemini's streamed JSON array (no alt=sse) passes byte for byte at every split, and a cut closes the connection", () => {
    const bytes = f.encode(f.geminiArrayStream);
    const sample = samples.find((s) => s.format === "gemini") as Sample;
    for (let at = 0; at <= bytes.length; at += 7) {
      const client = stream(sample, "application/json; charset=UTF-8");
      expect(client.framed).toBe(false);
      expect(joined(feed(client, [bytes.subarray(0, at), bytes.subarray(at)]))).toBe(f.geminiArrayStream);
      expect(client.cut(MESSAGE)).toBeUndefined();
    }
  });

  it("an error body of a streaming request (JSON or HTML) passes untouched", () => {
    const sample = samples[0] as Sample;
    const html = "<html><body>502 Bad Gateway</body></html>";
    const client = createClientStream({ sse: {}, streamErrorEvent: "x" }, 502, "text/html", undefined);
    expect(client.framed).toBe(false);
    expect(joined(feed(client, [f.encode(html)]))).toBe(html);
    expect(stream(sample, "application/json").framed).toBe(false);
  });

  it("a huge single event (4 MiB, in 16 KiB reads) is held whole until its blank line, and dropped whole on a cut", () => {
    const sample = samples[0] as Sample;
    const event = f.encode(`event: content_block_delta\ndata: ${JSON.stringify({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "é".repeat(2 * 1024 * 1024) } })}\n\n`);
    const reads: Uint8Array[] = [];
    for (let i = 0; i < event.length; i += 16 * 1024) reads.push(event.subarray(i, i + 16 * 1024));
    const whole = stream(sample);
    const out = reads.map((r) => whole.push(r));
    expect(out.slice(0, -1).every((o) => o.byteLength === 0)).toBe(true);
    expect(out.at(-1)?.byteLength).toBe(event.length);
    const cut = stream(sample);
    for (const r of reads.slice(0, -1)) expect(cut.push(r).byteLength).toBe(0);
    expect(decoder.decode(cut.cut(MESSAGE))).toBe(sample.errorEvent(MESSAGE));
  });

  it("past the hold limit an event is passed on as it comes, and a cut then closes the connection instead of writing into it", () => {
    const framer = new SseEventFramer({ maxHeldBytes: 10 });
    expect(decoder.decode(framer.push(f.encode("data: 0123456789")))).toBe("data: 0123456789");
    expect(framer.passingPartialEvent).toBe(true);
    expect(decoder.decode(framer.push(f.encode("abc\n\ndata: {}")))).toBe("abc\n\n");
    expect(framer.passingPartialEvent).toBe(false);
    expect(decoder.decode(framer.tail())).toBe("data: {}");
  });

  it("the injected usage-only chunk is dropped whole; the rest of the OpenAI stream passes unchanged at every split", () => {
    const sample = samples.find((s) => s.format === "openai-chat") as Sample;
    const bytes = f.encode(sample.text);
    const usageEvent = `data: ${JSON.stringify(f.openAiChatUsageChunk)}\n\n`;
    for (let at = 0; at <= bytes.length; at += 5) {
      const client = stream(sample, "text/event-stream; charset=utf-8", isUsageOnlyEvent);
      expect(joined(feed(client, [bytes.subarray(0, at), bytes.subarray(at)]))).toBe(sample.text.replace(usageEvent, ""));
    }
  });

  it("an OpenAI-compatible stream that ends on `data: [DONE]` without its blank line completes, terminated", () => {
    const sample = samples.find((s) => s.format === "openai-chat") as Sample;
    for (const tail of ["data: [DONE]", "data: [DONE]\n", "data: [DONE]\r\n", "data: [DONE]\r"]) {
      const client = stream(sample);
      const out = feed(client, [f.encode(`data: {"a":1}\n\n${tail}`)]);
      const { bytes, failure } = client.end();
      expect(failure).toBeUndefined();
      const parsed = readWithEventSourceParser(joined([...out, bytes as Uint8Array]));
      expect(parsed.events.map((e) => e.data)).toEqual(['{"a":1}', "[DONE]"]);
    }
  });
});
