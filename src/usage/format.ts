import type { JsonRecord } from "./json-fields.ts";
import type { UsageReport } from "./types.ts";

/**
 * What one wire format contributes to the shared reader machinery (reader.ts), which owns
 * the byte handling: SSE parsing, streamed JSON arrays, capped JSON bodies.
 */
export interface FormatHandler {
  /** Key of the usage object in a JSON body (used to rescue usage from an oversized body's tail). */
  readonly usageKey: string;
  /**
   * Cheap test on one streamed payload (SSE event or streamed array element) before it is
   * JSON-parsed: can it carry usage (or the model id)? Most events must answer false.
   */
  wants(event: string, data: string): boolean;
  /** One streamed payload that `wants` accepted and that parsed as a JSON object. */
  onStreamPayload(event: string, payload: JsonRecord): void;
  /** A complete (non-streamed) JSON body. */
  onBody(body: JsonRecord): void;
  /** True once an in-band error ended the stream; later payloads are ignored. */
  readonly ended: boolean;
  report(): UsageReport;
}
