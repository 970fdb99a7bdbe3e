import type { FormatHandler } from "../format.ts";
import { asRecord, count, type JsonRecord } from "../json-fields.ts";
import { zeroUsage, type TokenUsage, type UsageReport } from "../types.ts";

/**
 * Bedrock Converse / ConverseStream (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html).
 * The body's `usage`, or (streamed) the `metadata` event's `usage`: inputTokens, outputTokens,
 * totalTokens, cacheReadInputTokens, cacheWriteInputTokens. For Claude `inputTokens` leaves the
 * cache out (total = input + output + cache read + cache write); should a model report its
 * cache reads inside `inputTokens` (total = input + output), they are taken out, so each token
 * is priced once. Converse has no 1-hour cache split: writes are 5-minute writes. An
 * `exception` frame ends the stream.
 */
export function bedrockConverseHandler(): FormatHandler {
  let usage: TokenUsage | undefined;
  let ended = false;
  return {
    usageKey: '"usage"',
    get ended() {
      return ended;
    },
    wants(event) {
      return event === "metadata" || event === "exception";
    },
    onStreamPayload(event, payload) {
      if (event === "exception") {
        ended = true;
        return;
      }
      usage = readConverseUsage(payload["usage"]) ?? usage;
    },
    onBody(body) {
      usage = readConverseUsage(body["usage"]) ?? usage;
    },
    report(): UsageReport {
      return { usage: usage ?? zeroUsage(), model: undefined, sawFinalUsage: usage !== undefined };
    },
  };
}

export function readConverseUsage(value: unknown): TokenUsage | undefined {
  const raw: JsonRecord | undefined = asRecord(value);
  if (!raw) return undefined;
  const input = count(raw["inputTokens"]);
  const output = count(raw["outputTokens"]);
  if (input === undefined || output === undefined) return undefined;
  const cacheRead = count(raw["cacheReadInputTokens"]) ?? 0;
  const cacheWrite = count(raw["cacheWriteInputTokens"]) ?? 0;
  const total = count(raw["totalTokens"]);
  const cacheInsideInput = total !== undefined && cacheRead + cacheWrite > 0 && total === input + output;
  return { ...zeroUsage(), inputTokens: cacheInsideInput ? Math.max(0, input - cacheRead - cacheWrite) : input, outputTokens: output, cacheReadTokens: cacheRead, cacheWrite5mTokens: cacheWrite };
}
