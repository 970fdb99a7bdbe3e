import type { FormatHandler } from "../format.ts";
import { asRecord, count, firstModelField, text, type JsonRecord } from "../json-fields.ts";
import { zeroUsage, type TokenUsage, type UsageReport } from "../types.ts";

/**
 * Gemini generateContent / streamGenerateContent. Every streamed chunk (SSE with
 * `alt=sse`, or an element of the streamed JSON array without it) may carry a cumulative
 * `usageMetadata`: the last one wins. `promptTokenCount` INCLUDES `cachedContentTokenCount`;
 * `thoughtsTokenCount` is billed as output and is the reasoning part of it;
 * `toolUsePromptTokenCount` is input.
 */
export function geminiHandler(): FormatHandler {
  let usage: TokenUsage | undefined;
  let model: string | undefined;
  let sawFinal = false;
  const take = (payload: JsonRecord): void => {
    const read = readGeminiUsage(payload["usageMetadata"]);
    if (read) usage = read;
    model = text(payload["modelVersion"]) ?? model;
  };
  return {
    usageKey: '"usageMetadata"',
    ended: false,
    wants(_event, data) {
      model ??= firstModelField(data, '"modelVersion"');
      return data.includes('"usageMetadata"') || data.includes('"finishReason"');
    },
    onStreamPayload(_event, payload) {
      take(payload);
      if (hasFinishReason(payload) && usage !== undefined) sawFinal = true;
    },
    onBody(body) {
      take(body);
      if (usage !== undefined) sawFinal = true;
    },
    report(): UsageReport {
      return { usage: usage ?? zeroUsage(), model, sawFinalUsage: sawFinal };
    },
  };
}

export function readGeminiUsage(value: unknown): TokenUsage | undefined {
  const raw = asRecord(value);
  if (!raw) return undefined;
  const prompt = count(raw["promptTokenCount"]) ?? 0;
  const cached = Math.min(prompt, count(raw["cachedContentTokenCount"]) ?? 0);
  const toolPrompt = count(raw["toolUsePromptTokenCount"]) ?? 0;
  const candidates = count(raw["candidatesTokenCount"]) ?? 0;
  const thoughts = count(raw["thoughtsTokenCount"]) ?? 0;
  return {
    ...zeroUsage(),
    inputTokens: prompt - cached + toolPrompt,
    cacheReadTokens: cached,
    outputTokens: candidates + thoughts,
    reasoningTokens: thoughts,
  };
}

function hasFinishReason(payload: JsonRecord): boolean {
  const candidates = payload["candidates"];
  if (!Array.isArray(candidates)) return false;
  return candidates.some((candidate) => text(asRecord(candidate)?.["finishReason"]) !== undefined);
}
