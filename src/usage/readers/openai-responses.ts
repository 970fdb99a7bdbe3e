import type { FormatHandler } from "../format.ts";
import { asRecord, count, sseEventName, text } from "../json-fields.ts";
import { zeroUsage, type TokenUsage, type UsageReport } from "../types.ts";

/** Terminal Responses API events; each carries the full response object with `usage`. */
const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);

/**
 * OpenAI Responses API. Streams end with `response.completed` (or `.incomplete` /
 * `.failed`), whose `response.usage` is final; `response.created` gives the model early so
 * an aborted stream still names it. JSON bodies carry `usage` at the top level.
 */
export function openAiResponsesHandler(): FormatHandler {
  let usage: TokenUsage | undefined;
  let model: string | undefined;
  let ended = false;
  return {
    usageKey: '"usage"',
    get ended() {
      return ended;
    },
    wants(event, data) {
      const name = sseEventName(event, data);
      if (name === undefined) return false;
      return TERMINAL.has(name) || name === "error" || (model === undefined && name === "response.created");
    },
    onStreamPayload(event, payload) {
      const name = sseEventName(event, "") ?? text(payload["type"]);
      if (name === "error") {
        ended = true;
        return;
      }
      const response = asRecord(payload["response"]);
      if (!response) return;
      model = text(response["model"]) ?? model;
      if (name !== undefined && TERMINAL.has(name)) {
        usage = readResponsesUsage(response["usage"]) ?? usage;
      }
    },
    onBody(body) {
      usage = readResponsesUsage(body["usage"]) ?? usage;
      model = text(body["model"]) ?? model;
    },
    report(): UsageReport {
      return { usage: usage ?? zeroUsage(), model, sawFinalUsage: usage !== undefined };
    },
  };
}

/** input_tokens INCLUDES cached tokens; output_tokens INCLUDES reasoning tokens. */
export function readResponsesUsage(value: unknown): TokenUsage | undefined {
  const raw = asRecord(value);
  if (!raw) return undefined;
  const input = count(raw["input_tokens"]) ?? 0;
  const output = count(raw["output_tokens"]) ?? 0;
  const cached = Math.min(input, count(asRecord(raw["input_tokens_details"])?.["cached_tokens"]) ?? 0);
  const reasoning = Math.min(output, count(asRecord(raw["output_tokens_details"])?.["reasoning_tokens"]) ?? 0);
  return { ...zeroUsage(), inputTokens: input - cached, cacheReadTokens: cached, outputTokens: output, reasoningTokens: reasoning };
}
