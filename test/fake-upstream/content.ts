import type { Behaviour } from "./types.ts";

export const defaultText = "Hello from the fake upstream.";
const defaultChunks = 4;

/** The answer text: the behaviour's, or `chunks` generated words, or the default sentence. */
export function answerText(behaviour: Behaviour): string {
  if (behaviour.text !== undefined) return behaviour.text;
  if (behaviour.chunks !== undefined) return Array.from({ length: behaviour.chunks }, (_, i) => `word${i} `).join("");
  return defaultText;
}

/**
 * Splits the answer into `chunks` non-empty deltas (fewer when the text is shorter than
 * that; one empty delta for empty text, as a model that says nothing still sends one).
 */
export function textPieces(text: string, chunks: number | undefined): string[] {
  const wanted = Math.max(1, Math.min(chunks ?? defaultChunks, text.length));
  if (text.length === 0) return [""];
  const chars = Array.from(text);
  const pieces: string[] = [];
  for (let i = 0; i < wanted; i++) {
    const start = Math.floor((i * chars.length) / wanted);
    const end = Math.floor(((i + 1) * chars.length) / wanted);
    pieces.push(chars.slice(start, end).join(""));
  }
  return pieces;
}

/** Deltas for `endless` streams: never ends on its own. */
export function* endlessPieces(): Generator<string> {
  for (let i = 0; ; i++) yield `tick${i} `;
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

// Ids only need to look like the providers' and not repeat in a test run; Math.random is
// enough and, unlike crypto.randomBytes, did not show up as a quarter of the fake's CPU
// time under benchmark load.
const pick = (chars: string): string => chars[Math.floor(Math.random() * chars.length)] ?? "";

/** Random id in the providers' base62 style: `msg_01…`, `chatcmpl-…`, `req_…`. */
export function randomId(prefix: string, length = 24): string {
  let id = prefix;
  for (let i = 0; i < length; i++) id += pick(alphabet);
  return id;
}

export function hexId(prefix: string, bytes = 24): string {
  let id = prefix;
  for (let i = 0; i < bytes * 2; i++) id += pick("0123456789abcdef");
  return id;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
