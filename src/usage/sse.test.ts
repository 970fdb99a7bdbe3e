import { describe, expect, it } from "vitest";
import { createSseParser, parseSseBlock, type SseEvent } from "./sse.ts";

const encode = (text: string) => new TextEncoder().encode(text);

function parse(chunks: Array<string | Uint8Array>, options?: { maxLineLength?: number }, end?: { dispatchIncomplete?: boolean }): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createSseParser((event) => events.push(event), options);
  for (const chunk of chunks) parser.push(typeof chunk === "string" ? encode(chunk) : chunk);
  parser.end(end);
  return events;
}

/** Parses `text` split at every byte boundary, and byte by byte; all must agree with one-shot parsing. */
function parseEverySplit(text: string): SseEvent[] {
  const bytes = encode(text);
  const reference = parse([bytes]);
  for (let at = 0; at <= bytes.length; at++) {
    expect(parse([bytes.subarray(0, at), bytes.subarray(at)]), `split at ${at}`).toEqual(reference);
  }
  expect(parse(Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)))).toEqual(reference);
  return reference;
}

describe("SseParser (WHATWG event stream rules)", () => {
  it("dispatches events with type, data and last event id", () => {
    expect(parseEverySplit("event: add\ndata: 73857293\nid: 7\n\nevent: remove\ndata: 2153\n\ndata: plain\n\n")).toEqual([
      { event: "add", data: "73857293", id: "7" },
      { event: "remove", data: "2153", id: "7" },
      { event: "message", data: "plain", id: "7" },
    ]);
  });

  it("joins multi-line data with LF and handles LF, CRLF and CR line ends alike", () => {
    const expected = [{ event: "message", data: "YHOO\n+2\n10", id: undefined }];
    expect(parseEverySplit("data: YHOO\ndata: +2\ndata: 10\n\n")).toEqual(expected);
    expect(parseEverySplit("data: YHOO\r\ndata: +2\r\ndata: 10\r\n\r\n")).toEqual(expected);
    expect(parseEverySplit("data: YHOO\rdata: +2\rdata: 10\r\r")).toEqual(expected);
    expect(parseEverySplit("data: YHOO\r\ndata: +2\rdata: 10\n\r\n")).toEqual(expected);
  });

  it("treats a CRLF split across chunks as one line end", () => {
    expect(parse(["data: a\r", "\ndata: b\r", "\n\r", "\n"])).toEqual([{ event: "message", data: "a\nb", id: undefined }]);
  });

  it("ignores comments, unknown fields and retry; strips only one space after the colon", () => {
    expect(parseEverySplit(": keep-alive\nretry: 1000\nfoo: bar\ndata:no-space\n\ndata:  two spaces\n\n")).toEqual([
      { event: "message", data: "no-space", id: undefined },
      { event: "message", data: " two spaces", id: undefined },
    ]);
  });

  it("treats a field line without a colon as an empty value", () => {
    expect(parseEverySplit("data\n\ndata\ndata\n\ndata:\n\n")).toEqual([
      { event: "message", data: "", id: undefined },
      { event: "message", data: "\n", id: undefined },
      { event: "message", data: "", id: undefined },
    ]);
  });

  it("does not dispatch an event without data, and resets the type after each event", () => {
    expect(parseEverySplit("event: ping\n\ndata: x\n\n")).toEqual([{ event: "message", data: "x", id: undefined }]);
  });

  it("ignores ids containing NUL and keeps the last id across events", () => {
    expect(parse(["id: 1\ndata: a\n\nid: bad\u0000\ndata: b\n\nid\ndata: c\n\n"])).toEqual([
      { event: "message", data: "a", id: "1" },
      { event: "message", data: "b", id: "1" },
      { event: "message", data: "c", id: "" },
    ]);
  });

  it("decodes UTF-8 characters split across chunks and drops a leading BOM", () => {
    const events = parseEverySplit("\uFEFFdata: Grüße 日本 🚀\n\n");
    expect(events).toEqual([{ event: "message", data: "Grüße 日本 🚀", id: undefined }]);
  });

  it("discards an unterminated event at end of stream unless asked to dispatch it", () => {
    expect(parse(["data: tail"])).toEqual([]);
    expect(parse(["data: tail"], undefined, { dispatchIncomplete: true })).toEqual([{ event: "message", data: "tail", id: undefined }]);
    expect(parse(["data: tail\n"], undefined, { dispatchIncomplete: true })).toEqual([{ event: "message", data: "tail", id: undefined }]);
  });

  it("skips an over-long line and its event, then carries on", () => {
    const long = "x".repeat(100);
    expect(parse([`data: ${long.slice(0, 40)}`, `${long.slice(40)}\n\n`, "data: ok\n\n"], { maxLineLength: 50 })).toEqual([{ event: "message", data: "ok", id: undefined }]);
    expect(parse([`data: ${long}\ndata: more\n\ndata: ok\n\n`], { maxLineLength: 50 })).toEqual([{ event: "message", data: "ok", id: undefined }]);
  });

  it("parseSseBlock reads one complete block", () => {
    expect(parseSseBlock('event: x\r\ndata: {"a":1}\r\n\r\n')).toEqual({ event: "x", data: '{"a":1}', id: undefined });
    expect(parseSseBlock(": only a comment\n\n")).toBeUndefined();
  });

  it("parses a long stream quickly", () => {
    const event = `data: ${JSON.stringify({ choices: [{ delta: { content: "token " } }], usage: null })}\n\n`;
    const bytes = encode(event.repeat(20000));
    let count = 0;
    const parser = createSseParser(() => count++);
    // CPU time of this process, not wall time: on a loaded machine other processes stretch the wall clock, not this.
    const started = process.cpuUsage();
    for (let i = 0; i < bytes.length; i += 1500) parser.push(bytes.subarray(i, i + 1500));
    parser.end();
    const spent = process.cpuUsage(started);
    expect(count).toBe(20000);
    expect((spent.user + spent.system) / 1000).toBeLessThan(2000);
  });
});
