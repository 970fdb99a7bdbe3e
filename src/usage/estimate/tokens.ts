/**
 * Token counting for estimates, with gpt-tokenizer's o200k_base and cl100k_base encodings
 * (OpenAI's own tokenizers, pure JavaScript). Each is loaded only when it may be needed: when
 * a streamed request that an estimate would count with it goes out (`prepareEstimate`), or
 * at its first count; never at start, never for the other encoding. o200k_base is ~20 MB of
 * heap and ~55 MB of RSS once built (~300 ms), cl100k_base ~11 MB and ~40 MB, and most
 * gateways never count with cl100k_base (GPT-4 and GPT-3.5 era models only). Until an
 * encoding has loaded, its counts fall back to the byte approximation below.
 */
export type Encoding = "o200k_base" | "cl100k_base";

interface Counter {
  countTokens(text: string, options: { disallowedSpecial: Set<string> }): number;
}

/** Text longer than this is counted on its first part and scaled: tokenising 1 MB holds the event loop ~250 ms. */
export const MAX_TOKENIZED_CHARS = 64 * 1024;
/** Before a tokenizer has loaded: UTF-8 bytes per token. English prose averages ~4.3 on o200k, code ~3.5; 3.5 leans high. */
export const FALLBACK_BYTES_PER_TOKEN = 3.5;

const ENCODINGS: readonly Encoding[] = ["o200k_base", "cl100k_base"];
const loaded = new Map<Encoding, Counter>();
const loading = new Map<Encoding, Promise<void>>();
// Special-token text in a prompt ("<|endoftext|>") is ordinary text to count, not an error.
const noSpecial = { disallowedSpecial: new Set<string>() };

let loadFailure: Error | undefined;

/** Literal specifiers, so a bundler (wrangler) sees both modules. */
function importEncoding(encoding: Encoding): Promise<Counter> {
  return encoding === "o200k_base" ? import("gpt-tokenizer/encoding/o200k_base") : import("gpt-tokenizer/encoding/cl100k_base");
}

/**
 * Starts loading one encoding once; later calls return the same promise. It never rejects:
 * a failed load is kept for `tokenizerLoadFailure` and that encoding's counts use the fallback.
 */
export function loadTokenizer(encoding: Encoding): Promise<void> {
  let promise = loading.get(encoding);
  if (!promise) {
    promise = importEncoding(encoding).then(
      (counter) => {
        loaded.set(encoding, counter);
      },
      (err: unknown) => {
        loadFailure = err instanceof Error ? err : new Error(String(err));
      },
    );
    loading.set(encoding, promise);
  }
  return promise;
}

/** Loads both encodings (tests and the error measurement count exactly from the first call). */
export function preloadTokenizers(): Promise<void> {
  return Promise.all(ENCODINGS.map(loadTokenizer)).then(() => undefined);
}

/** Why a tokenizer could not be loaded, if one could not (its estimates then use the byte fallback). */
export function tokenizerLoadFailure(): Error | undefined {
  return loadFailure;
}

/** True once `encoding` can count exactly. */
export function tokenizerLoaded(encoding: Encoding): boolean {
  return loaded.has(encoding);
}

/** Tokens of `text` in `encoding` (scaled from a prefix past MAX_TOKENIZED_CHARS). */
export function countTokens(text: string, encoding: Encoding): number {
  if (text.length === 0) return 0;
  const counter = loaded.get(encoding);
  if (!counter) {
    // The first count with this encoding: the next one is exact.
    void loadTokenizer(encoding);
    return Math.ceil(new TextEncoder().encode(text).byteLength / FALLBACK_BYTES_PER_TOKEN);
  }
  if (text.length <= MAX_TOKENIZED_CHARS) return counter.countTokens(text, noSpecial);
  const sample = text.slice(0, MAX_TOKENIZED_CHARS);
  return Math.ceil((counter.countTokens(sample, noSpecial) * text.length) / sample.length);
}
