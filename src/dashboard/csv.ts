import type { UsageSummaryRow, UsageGroup } from "../ledger/index.ts";

/**
 * CSV of usage rows. A cell that a spreadsheet would run as a formula (model names come
 * from clients: "=HYPERLINK(...)") is prefixed with an apostrophe.
 */
export function usageCsv(rows: readonly UsageSummaryRow[], by: UsageGroup): string {
  const header = [by, "requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "cost_usd", "errors"];
  const lines = rows.map((r) => [r.keys[by] ?? "", String(r.requests), String(r.inputTokens), String(r.outputTokens), String(r.cacheReadTokens), String(r.cacheWriteTokens), String(r.reasoningTokens), r.costUsd.toFixed(6), String(r.errors)]);
  return [header, ...lines].map((line) => line.map(cell).join(",")).join("\r\n") + "\r\n";
}

function cell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) && !/^-?\d/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
