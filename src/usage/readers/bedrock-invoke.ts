import type { FormatHandler } from "../format.ts";
import { asRecord, count, type JsonRecord } from "../json-fields.ts";
import type { UsageReport } from "../types.ts";
import { anthropicMessagesHandler } from "./anthropic-messages.ts";

const METRICS_KEY = "amazon-bedrock-invocationMetrics";

/** Bedrock's own count of a streamed invocation, on the last chunk (every model family has it). */
interface InvocationMetrics {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

/**
 * Bedrock InvokeModel / InvokeModelWithResponseStream for Claude. The answer is Anthropic's:
 * a Messages body, or (streamed) Anthropic's events, each one `chunk` of the event stream
 * (decoded to its JSON by the reader). The last chunk's event also carries Bedrock's
 * `amazon-bedrock-invocationMetrics` (inputTokenCount, outputTokenCount,
 * cacheReadInputTokenCount, cacheWriteInputTokenCount): Bedrock bills by those, so they win
 * over Anthropic's counts; Anthropic's 5-minute/1-hour split of the cache writes is kept
 * (Bedrock reports one total). An `exception` frame ends the stream.
 */
export function bedrockInvokeHandler(): FormatHandler {
  const anthropic = anthropicMessagesHandler();
  let metrics: InvocationMetrics | undefined;
  let ended = false;
  return {
    usageKey: anthropic.usageKey,
    get ended() {
      return ended || anthropic.ended;
    },
    wants(event, data) {
      return event === "exception" || data.includes(METRICS_KEY) || anthropic.wants(event, data);
    },
    onStreamPayload(event, payload) {
      if (event === "exception") {
        ended = true;
        return;
      }
      metrics = readMetrics(payload[METRICS_KEY]) ?? metrics;
      anthropic.onStreamPayload(event, payload);
    },
    onBody(body) {
      anthropic.onBody(body);
    },
    report(): UsageReport {
      const report = anthropic.report();
      if (!metrics) return report;
      const write1h = Math.min(report.usage.cacheWrite1hTokens, metrics.cacheWrite);
      return {
        ...report,
        usage: { ...report.usage, inputTokens: metrics.input, outputTokens: metrics.output, cacheReadTokens: metrics.cacheRead, cacheWrite5mTokens: metrics.cacheWrite - write1h, cacheWrite1hTokens: write1h },
        sawFinalUsage: true,
      };
    },
  };
}

function readMetrics(value: unknown): InvocationMetrics | undefined {
  const raw: JsonRecord | undefined = asRecord(value);
  if (!raw) return undefined;
  const input = count(raw["inputTokenCount"]);
  const output = count(raw["outputTokenCount"]);
  if (input === undefined || output === undefined) return undefined;
  return { input, output, cacheRead: count(raw["cacheReadInputTokenCount"]) ?? 0, cacheWrite: count(raw["cacheWriteInputTokenCount"]) ?? 0 };
}
