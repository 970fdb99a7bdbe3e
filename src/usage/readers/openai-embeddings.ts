import type { FormatHandler } from "../format.ts";
import { asRecord, count, text } from "../json-fields.ts";
import { zeroUsage, type TokenUsage, type UsageReport } from "../types.ts";

/** OpenAI embeddings: a JSON body whose `usage.prompt_tokens` is all there is to bill. */
export function openAiEmbeddingsHandler(): FormatHandler {
  let usage: TokenUsage | undefined;
  let model: string | undefined;
  return {
    usageKey: '"usage"',
    ended: false,
    wants: () => false,
    onStreamPayload: () => undefined,
    onBody(body) {
      const raw = asRecord(body["usage"]);
      const prompt = count(raw?.["prompt_tokens"]);
      if (prompt !== undefined) usage = { ...zeroUsage(), inputTokens: prompt };
      model = text(body["model"]) ?? model;
    },
    report(): UsageReport {
      return { usage: usage ?? zeroUsage(), model, sawFinalUsage: usage !== undefined };
    },
  };
}
