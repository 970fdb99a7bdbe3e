import type { FormatHandler } from "../format.ts";
import { asRecord, count, sseEventName, text, type JsonRecord } from "../json-fields.ts";
import { zeroUsage, type UsageReport } from "../types.ts";

/** The Anthropic usage fields, each the latest non-null value reported. */
interface AnthropicCounts {
  input?: number | undefined;
  output?: number | undefined;
  cacheRead?: number | undefined;
  cacheCreation?: number | undefined;
  write5m?: number | undefined;
  write1h?: number | undefined;
}

/**
 * Anthropic Messages. `message_start` carries `message.usage` (input and cache fields, a
 * first output count); `message_delta` carries `usage.output_tokens` CUMULATIVELY and, on
 * newer API versions, repeats the input/cache fields: so every field takes its latest
 * non-null value and nothing is ever summed. `input_tokens` already EXCLUDES cache reads
 * and writes. Thinking tokens are inside `output_tokens` and not reported apart, so
 * `reasoningTokens` stays 0. An `error` event ends the stream.
 */
export function anthropicMessagesHandler(): FormatHandler {
  const counts: AnthropicCounts = {};
  let model: string | undefined;
  let sawUsage = false;
  let sawFinal = false;
  let ended = false;
  return {
    usageKey: '"usage"',
    get ended() {
      return ended;
    },
    wants(event, data) {
      const name = sseEventName(event, data);
      return name === "message_start" || name === "message_delta" || name === "error";
    },
    onStreamPayload(event, payload) {
      const name = sseEventName(event, "") ?? text(payload["type"]);
      if (name === "error") {
        ended = true;
      } else if (name === "message_start") {
        const message = asRecord(payload["message"]);
        model = text(message?.["model"]) ?? model;
        if (merge(counts, message?.["usage"])) sawUsage = true;
      } else if (name === "message_delta") {
        if (merge(counts, payload["usage"])) {
          sawUsage = true;
          sawFinal = true;
        }
      }
    },
    onBody(body) {
      model = text(body["model"]) ?? model;
      if (merge(counts, body["usage"])) {
        sawUsage = true;
        sawFinal = true;
      }
    },
    report(): UsageReport {
      if (!sawUsage) return { usage: zeroUsage(), model, sawFinalUsage: false };
      return { usage: toTokenUsage(counts), model, sawFinalUsage: sawFinal };
    },
  };
}

function merge(into: AnthropicCounts, value: unknown): boolean {
  const usage = asRecord(value);
  if (!usage) return false;
  into.input = count(usage["input_tokens"]) ?? into.input;
  into.output = count(usage["output_tokens"]) ?? into.output;
  into.cacheRead = count(usage["cache_read_input_tokens"]) ?? into.cacheRead;
  into.cacheCreation = count(usage["cache_creation_input_tokens"]) ?? into.cacheCreation;
  const split: JsonRecord | undefined = asRecord(usage["cache_creation"]);
  if (split) {
    into.write5m = count(split["ephemeral_5m_input_tokens"]) ?? into.write5m;
    into.write1h = count(split["ephemeral_1h_input_tokens"]) ?? into.write1h;
  }
  return true;
}

function toTokenUsage(counts: AnthropicCounts) {
  const creation = counts.cacheCreation ?? 0;
  const hasSplit = counts.write5m !== undefined || counts.write1h !== undefined;
  const write1h = hasSplit ? (counts.write1h ?? 0) : 0;
  // Without the split every cache write is a 5-minute write; with it, any remainder the
  // split does not explain is billed as 5-minute too rather than dropped.
  const write5m = hasSplit ? Math.max(counts.write5m ?? 0, creation - write1h) : creation;
  return {
    ...zeroUsage(),
    inputTokens: counts.input ?? 0,
    outputTokens: counts.output ?? 0,
    cacheReadTokens: counts.cacheRead ?? 0,
    cacheWrite5mTokens: write5m,
    cacheWrite1hTokens: write1h,
  };
}
