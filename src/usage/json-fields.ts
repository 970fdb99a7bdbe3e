/**
 * Small, total helpers for reading untrusted provider JSON: every accessor returns a safe
 * default instead of throwing, because a usage reader must never break the stream it taps.
 */
export type JsonRecord = Record<string, unknown>;

export function asRecord(value: unknown): JsonRecord | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as JsonRecord) : undefined;
}

/** A non-negative finite count, or undefined when absent/null/garbage. */
export function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

export function text(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** JSON.parse that reports failure as undefined (the caller skips the event and moves on). */
export function parseJson(source: string): unknown {
  try {
    return JSON.parse(source) as unknown;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/**
 * Cheap pre-check before JSON.parse: does `source` contain `"<key>"` followed by optional
 * whitespace, a colon, optional whitespace and `{`? (So `"usage":null` chunks and text that
 * merely mentions the word are not parsed.)
 */
export function hasObjectField(source: string, quotedKey: string): boolean {
  let from = 0;
  for (;;) {
    const at = source.indexOf(quotedKey, from);
    if (at === -1) return false;
    let i = skipSpace(source, at + quotedKey.length);
    if (source.charCodeAt(i) === 58 /* : */) {
      i = skipSpace(source, i + 1);
      if (source.charCodeAt(i) === 123 /* { */) return true;
    }
    from = at + quotedKey.length;
  }
}

/** The `"type"` value when it is the first member of the object (how OpenAI and Anthropic send events). */
export function leadingType(source: string): string | undefined {
  const match = LEADING_TYPE.exec(source);
  return match?.[1];
}
const LEADING_TYPE = /^\s*\{\s*"type"\s*:\s*"([^"\\]{1,100})"/;

/**
 * An SSE event's name: its `event:` field, or for unnamed events (`message`, as proxies
 * that drop the field send them) the payload's leading `"type"`.
 */
export function sseEventName(event: string, data: string): string | undefined {
  return event === "message" ? leadingType(data) : event;
}

/** The first `"model":"..."` string value, without parsing the whole document. */
export function firstModelField(source: string, quotedKey = '"model"'): string | undefined {
  const at = source.indexOf(quotedKey);
  if (at === -1) return undefined;
  let i = skipSpace(source, at + quotedKey.length);
  if (source.charCodeAt(i) !== 58) return undefined;
  i = skipSpace(source, i + 1);
  if (source.charCodeAt(i) !== 34 /* " */) return undefined;
  const end = source.indexOf('"', i + 1);
  if (end === -1 || end - i > 256) return undefined;
  const value = source.slice(i + 1, end);
  return value.includes("\\") || value.length === 0 ? undefined : value;
}

/**
 * The last `"<key>": { ... }` object in `source`, found by a string-aware brace scan, parsed.
 * Used when a JSON body was too large to keep whole: usage sits at the end of every
 * provider's body, so the kept tail still has it.
 */
export function lastObjectField(source: string, quotedKey: string): JsonRecord | undefined {
  let from = source.length;
  while (from > 0) {
    const at = source.lastIndexOf(quotedKey, from - 1);
    if (at === -1) return undefined;
    from = at;
    let i = skipSpace(source, at + quotedKey.length);
    if (source.charCodeAt(i) !== 58) continue;
    i = skipSpace(source, i + 1);
    if (source.charCodeAt(i) !== 123) continue;
    const end = matchingBrace(source, i);
    if (end === -1) continue;
    const parsed = asRecord(parseJson(source.slice(i, end + 1)));
    if (parsed) return parsed;
  }
  return undefined;
}

function matchingBrace(source: string, open: number): number {
  let depth = 0;
  let inString = false;
  for (let i = open; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123) depth++;
    else if (c === 125 /* } */ && --depth === 0) return i;
  }
  return -1;
}

function skipSpace(source: string, from: number): number {
  let i = from;
  for (;;) {
    const c = source.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) i++;
    else return i;
  }
}
