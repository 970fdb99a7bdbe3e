import { createParser, type EventSourceMessage } from "eventsource-parser";

/**
 * How real clients read a streamed answer, for tests that assert no client ever sees half an
 * event. Two readers: eventsource-parser (what the Vercel AI SDK and OpenCode use), told to
 * dispatch an unterminated last event too (`reset({ consume: true })`, the laxest reading,
 * so a half event anywhere shows); and the algorithm of @google/genai's
 * `processStreamResponse` (js-genai src/_api_client.ts, which Gemini CLI runs), which is
 * not installed here: it splits a string buffer on "\n\n", "\r\r" and "\r\n\r\n", JSON-
 * parses each `data:` payload, and throws an ApiError when a whole read chunk is `{"error":…}`.
 */
export interface ParsedStream {
  events: EventSourceMessage[];
  /** Events whose data is neither JSON nor `[DONE]`: a half event reached the client. */
  broken: EventSourceMessage[];
}

export function readWithEventSourceParser(text: string): ParsedStream {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event), onError: () => undefined });
  parser.feed(text);
  parser.reset({ consume: true });
  return { events, broken: events.filter((e) => !isWholePayload(e.data)) };
}

function isWholePayload(data: string): boolean {
  if (data === "[DONE]") return true;
  try {
    JSON.parse(data);
    return true;
  } catch (err) {
    if (err instanceof SyntaxError) return false;
    throw err;
  }
}

export type GenaiOutcome = { kind: "completed"; chunks: unknown[] } | { kind: "api_error"; status: number; message: string; chunks: unknown[] } | { kind: "error"; message: string; chunks: unknown[] };

/** @google/genai's stream reading, fed the client's read chunks in order. */
export function readLikeGenai(reads: readonly string[]): GenaiOutcome {
  const chunks: unknown[] = [];
  let buffer = "";
  const delimiters = ["\n\n", "\r\r", "\r\n\r\n"];
  try {
    for (const chunkString of reads) {
      try {
        const chunkJson = JSON.parse(chunkString) as Record<string, unknown>;
        if (chunkJson !== null && typeof chunkJson === "object" && "error" in chunkJson) {
          const error = chunkJson["error"] as { code?: number; status?: string };
          const code = error.code ?? 0;
          if (code >= 400 && code < 600) return { kind: "api_error", status: code, message: `got status: ${error.status}. ${JSON.stringify(chunkJson)}`, chunks };
        }
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
      }
      buffer += chunkString;
      for (;;) {
        let at = -1;
        let length = 0;
        for (const delimiter of delimiters) {
          const index = buffer.indexOf(delimiter);
          if (index !== -1 && (at === -1 || index < at)) {
            at = index;
            length = delimiter.length;
          }
        }
        if (at === -1) break;
        const event = buffer.substring(0, at).trim();
        buffer = buffer.substring(at + length);
        // The SDK wraps the payload in a Response and calls .json() on it: a half event throws here.
        if (event.startsWith("data:")) chunks.push(JSON.parse(event.substring("data:".length).trim()));
      }
    }
    if (buffer.trim().length > 0) return { kind: "error", message: "Incomplete JSON segment at the end", chunks };
    return { kind: "completed", chunks };
  } catch (err) {
    if (err instanceof SyntaxError) return { kind: "error", message: `SyntaxError: ${err.message}`, chunks };
    throw err;
  }
}
