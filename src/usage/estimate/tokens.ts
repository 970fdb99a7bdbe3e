/**
 * Token counting for estimates, with gpt-tokenizer's o200k_base and cl100k_base encodings
 * (OpenAI's own tokenizers, pure JavaScript). They are loaded lazily, off the hot path:
 * each is ~140 ms and ~20 MB of heap to build, paid once, after the first proxied request
 * asks for it (`preloadTokenizers`), and never by CLI commands that import this module.
 * Until they are loaded, counts fall back to the byte approximation below.
 */
export type Encoding = "o200k_base" | "cl100k_base";

interface Counter {
  countTokens(text: string, options: { disallowedSpecial: Set<string> }): number;
}

/** Text longer than this is counted on its first part and scaled: tokenising 1 MB holds the event loop ~250 ms. */
export const MAX_TOKENIZED_CHARS = 64 * 1024;
/** Before a tokenizer has loaded: UTF-8 bytes per token. English prose averages ~4.3 on o200k, code ~3.5; 3.5 leans high. */
export const FALLBACK_BYTES_PER_TOKEN = 3.5;

const loaded = new Map<Encoding, Counter>();
let loading: Promise<void> | undefined;
// Special-token text in a prompt ("<|endoftext|>") is ordinary text to count, not an error.
const noSpecial = { disallowedSpecial: new Set<string>() };

let loadFailure: Error | undefined;

/**
 * Starts loading both encodings once; later calls return the same promise. It never
 * rejects: a failed load is kept for `tokenizerLoadFailure` and counts use the fallback.
 */
export function preloadTokenizers(): Promise<void> {
  loading ??= Promise.all([
    import("gpt-tokenizer/encoding/o200k_base").then((m) => loaded.set("o200k_base", m)),
    import("gpt-tokenizer/encoding/cl100k_base").then((m) => loaded.set("cl100k_base", m)),
  ]).then(
    () => undefined,
    (err: unknown) => {
      loadFailure = err instanceof Error ? err : new Error(String(err));
    },
  );
  return loading;
}

/** Why the tokenizers could not be loaded, if they could not (estimates then use the byte fallback). */
export function tokenizerLoadFailure(): Error | undefined {
  return loadFailure;
}

/** True once `encoding` can count exactly (tests and the measurement wait for it). */
export function tokenizerLoaded(encoding: Encoding): boolean {
  return loaded.has(encoding);
}

/** Tokens of `text` in `encoding` (scaled from a prefix past MAX_TOKENIZED_CHARS). */
export function countTokens(text: string, encoding: Encoding): number {
  if (text.length === 0) return 0;
  const counter = loaded.get(encoding);
  if (!counter) return Math.ceil(new TextEncoder().encode(text).byteLength / FALLBACK_BYTES_PER_TOKEN);
  if (text.length <= MAX_TOKENIZED_CHARS) return counter.countTokens(text, noSpecial);
  const sample = text.slice(0, MAX_TOKENIZED_CHARS);
  return Math.ceil((counter.countTokens(sample, noSpecial) * text.length) / sample.length);
}
