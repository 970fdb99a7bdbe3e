import type { FormatHandler } from "../format.ts";
import { zeroUsage, type UsageReport } from "../types.ts";

/** Endpoints that bill nothing we can count (model lists, count_tokens, files...). */
export function noUsageHandler(): FormatHandler {
  return {
    usageKey: '"usage"',
    ended: false,
    wants: () => false,
    onStreamPayload: () => undefined,
    onBody: () => undefined,
    report(): UsageReport {
      return { usage: zeroUsage(), model: undefined, sawFinalUsage: false };
    },
  };
}
