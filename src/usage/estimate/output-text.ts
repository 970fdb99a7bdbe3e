import { asRecord, parseJson, sseEventName, text, type JsonRecord } from "../json-fields.ts";
import type { WireFormat } from "../types.ts";

/** Characters of generated text kept per response; past it payloads are only measured and the count scaled. */
export const OUTPUT_KEEP_CHARS = 4 * 1024 * 1024;
/** Streamed payloads are kept whole up to this many characters, then reduced to their text. */
export const COMPACT_AT_CHARS = 256 * 1024;

/**
 * Keeps what a response generated so that, when the provider's usage never arrives, the
 * text can be counted. On the hot path `push` is one array append (the payload strings
 * are the SSE parser's, kept by reference); payloads are parsed only for an estimate, or
 * in batches once a long stream has kept COMPACT_AT_CHARS of them (a stream's payloads are
 * ~50x its text, so memory stays near the text's size).
 */
export class OutputTextCollector {
  private payloads: Array<readonly [string, string]> = [];
  private payloadChars = 0;
  private readonly parts: string[] = [];
  private textChars = 0;
  private seenChars = 0;
  private droppedChars = 0;

  constructor(private readonly format: WireFormat) {}

  push(event: string, data: string): void {
    if (this.textChars > OUTPUT_KEEP_CHARS) {
      this.droppedChars += data.length;
      return;
    }
    this.seenChars += data.length;
    this.payloads.push([event, data]);
    this.payloadChars += data.length;
    if (this.payloadChars >= COMPACT_AT_CHARS) this.compact();
  }

  /**
   * The generated text (answer, reasoning, tool-call names and arguments) of the payloads
   * seen, and the factor to scale its count by when payloads were dropped past the cap.
   */
  text(): { text: string; scale: number } {
    this.compact();
    const scale = this.seenChars === 0 ? 1 : (this.seenChars + this.droppedChars) / this.seenChars;
    return { text: this.parts.join(""), scale };
  }

  private compact(): void {
    const before = this.parts.length;
    for (const [event, data] of this.payloads) {
      const payload = asRecord(parseJson(data));
      if (payload) collectStreamed(this.format, event, data, payload, this.parts);
      // A cut last event does not parse: take the string values it had so far.
      else this.parts.push(...looseStrings(data, OUTPUT_KEYS));
    }
    for (let i = before; i < this.parts.length; i++) this.textChars += (this.parts[i] as string).length;
    this.payloads = [];
    this.payloadChars = 0;
  }
}

/** The generated text of a complete (non-streamed) JSON answer. */
export function bodyOutputText(format: WireFormat, body: JsonRecord): string {
  const parts: string[] = [];
  switch (format) {
    case "openai-chat":
      for (const choice of records(body["choices"])) chatMessage(asRecord(choice["message"]), parts);
      break;
    case "openai-responses":
      for (const item of records(body["output"])) responsesItem(item, parts);
      break;
    case "anthropic-messages":
    case "bedrock-invoke":
      for (const block of records(body["content"])) anthropicBlock(block, parts);
      break;
    case "bedrock-converse":
      for (const block of records(asRecord(asRecord(body["output"])?.["message"])?.["content"])) converseBlock(block, parts);
      break;
    case "gemini":
      geminiCandidates(body, parts);
      break;
    case "openai-embeddings":
    case "none":
      break;
  }
  return parts.join("");
}

/** Keys whose string values are generated text, for payloads cut mid-JSON. */
const OUTPUT_KEYS = new Set(["text", "content", "delta", "thinking", "partial_json", "arguments", "refusal", "reasoning_content", "reasoning"]);

function collectStreamed(format: WireFormat, event: string, data: string, payload: JsonRecord, parts: string[]): void {
  switch (format) {
    case "openai-chat":
      for (const choice of records(payload["choices"])) chatMessage(asRecord(choice["delta"]), parts);
      // A server that ignored `stream` answered with one JSON body.
      for (const choice of records(payload["choices"])) chatMessage(asRecord(choice["message"]), parts);
      return;
    case "openai-responses": {
      const name = sseEventName(event, data) ?? text(payload["type"]);
      // Deltas only: the `.done`, `output_item.done` and `response.completed` events repeat the whole text.
      if (name !== undefined && name.endsWith(".delta")) {
        const delta = payload["delta"];
        if (typeof delta === "string") parts.push(delta);
      } else if (name === "response.output_item.added") {
        const item = asRecord(payload["item"]);
        const toolName = text(item?.["name"]);
        if (toolName) parts.push(toolName);
      }
      return;
    }
    case "bedrock-converse":
      // contentBlockStart names a tool; contentBlockDelta carries text, tool input and reasoning.
      if (event === "contentBlockDelta") converseDelta(asRecord(payload["delta"]), parts);
      else if (event === "contentBlockStart") {
        const toolName = text(asRecord(asRecord(payload["start"])?.["toolUse"])?.["name"]);
        if (toolName) parts.push(toolName);
      }
      return;
    case "anthropic-messages":
    case "bedrock-invoke": {
      const name = sseEventName(event, data) ?? text(payload["type"]);
      if (name === "content_block_delta") {
        const delta = asRecord(payload["delta"]);
        for (const key of ["text", "thinking", "partial_json"]) {
          const value = delta?.[key];
          if (typeof value === "string") parts.push(value);
        }
      } else if (name === "content_block_start") anthropicBlock(asRecord(payload["content_block"]) ?? {}, parts);
      return;
    }
    case "gemini":
      geminiCandidates(payload, parts);
      return;
    case "openai-embeddings":
    case "none":
      return;
  }
}

function chatMessage(message: JsonRecord | undefined, parts: string[]): void {
  if (!message) return;
  for (const key of ["content", "reasoning_content", "reasoning", "refusal"]) {
    const value = message[key];
    if (typeof value === "string") parts.push(value);
  }
  for (const call of records(message["tool_calls"])) {
    const fn = asRecord(call["function"]);
    for (const key of ["name", "arguments"]) {
      const value = fn?.[key];
      if (typeof value === "string") parts.push(value);
    }
  }
}

function responsesItem(item: JsonRecord, parts: string[]): void {
  for (const key of ["name", "arguments", "input"]) {
    const value = item[key];
    if (typeof value === "string") parts.push(value);
  }
  for (const part of [...records(item["content"]), ...records(item["summary"])]) {
    const value = part["text"];
    if (typeof value === "string") parts.push(value);
  }
}

function anthropicBlock(block: JsonRecord, parts: string[]): void {
  for (const key of ["text", "thinking", "name"]) {
    const value = block[key];
    if (typeof value === "string") parts.push(value);
  }
  const input = asRecord(block["input"]);
  if (input && Object.keys(input).length > 0) parts.push(JSON.stringify(input));
}

function converseBlock(block: JsonRecord, parts: string[]): void {
  const value = block["text"];
  if (typeof value === "string") parts.push(value);
  const tool = asRecord(block["toolUse"]);
  if (tool) {
    const name = text(tool["name"]);
    if (name) parts.push(name);
    if (tool["input"] !== undefined) parts.push(JSON.stringify(tool["input"]));
  }
  const reasoning = text(asRecord(asRecord(block["reasoningContent"])?.["reasoningText"])?.["text"]);
  if (reasoning) parts.push(reasoning);
}

function converseDelta(delta: JsonRecord | undefined, parts: string[]): void {
  if (!delta) return;
  const value = delta["text"];
  if (typeof value === "string") parts.push(value);
  const input = asRecord(delta["toolUse"])?.["input"];
  if (typeof input === "string") parts.push(input);
  const reasoning = asRecord(delta["reasoningContent"])?.["text"];
  if (typeof reasoning === "string") parts.push(reasoning);
}

function geminiCandidates(payload: JsonRecord, parts: string[]): void {
  for (const candidate of records(payload["candidates"])) {
    for (const part of records(asRecord(candidate["content"])?.["parts"])) {
      const value = part["text"];
      if (typeof value === "string") parts.push(value);
      const call = asRecord(part["functionCall"]);
      if (call) parts.push(JSON.stringify(call));
    }
  }
}

function records(value: unknown): JsonRecord[] {
  if (!Array.isArray(value)) return [];
  const out: JsonRecord[] = [];
  for (const element of value) {
    const record = asRecord(element);
    if (record) out.push(record);
  }
  return out;
}

/**
 * The string values of `keys` in JSON that may be cut anywhere (a body or event the
 * upstream broke off): a small scanner, since JSON.parse refuses the whole thing.
 */
export function looseStrings(source: string, keys: ReadonlySet<string>): string[] {
  const out: string[] = [];
  let lastKey: string | undefined;
  let i = 0;
  while (i < source.length) {
    const c = source.charCodeAt(i);
    if (c !== 34 /* " */) {
      i++;
      continue;
    }
    const { value, end } = readString(source, i + 1);
    let j = end;
    while (j < source.length && isSpace(source.charCodeAt(j))) j++;
    if (source.charCodeAt(j) === 58 /* : */) lastKey = value;
    else if (lastKey !== undefined && keys.has(lastKey)) out.push(value);
    i = end;
  }
  return out;
}

function readString(source: string, from: number): { value: string; end: number } {
  let value = "";
  let i = from;
  while (i < source.length) {
    const c = source.charCodeAt(i);
    if (c === 34) return { value, end: i + 1 };
    if (c === 92 /* \ */ && i + 1 < source.length) {
      const next = source[i + 1] as string;
      if (next === "u" && i + 5 < source.length) {
        value += String.fromCharCode(Number.parseInt(source.slice(i + 2, i + 6), 16) || 0);
        i += 6;
        continue;
      }
      value += next === "n" ? "\n" : next === "t" ? "\t" : next === "r" ? "\r" : next;
      i += 2;
      continue;
    }
    value += source[i];
    i++;
  }
  return { value, end: i };
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

export { OUTPUT_KEYS };
