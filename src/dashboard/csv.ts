import { cacheHitRate, costKnown, type UsageGroup, type UsageSummaryRow } from "../ledger/index.ts";
import { groupKeyLabel } from "./names.ts";

/**
 * The one usage CSV writer, for the dashboard's export and `gatehouse usage --format csv`.
 * Columns: the grouping keys, then USAGE_CSV_COLUMNS (snake_case, with the unit: `input_tokens`).
 * New columns are appended, so a sheet that reads the old ones by position keeps working.
 */
export const USAGE_CSV_COLUMNS = ["requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "cost_usd", "errors", "cache_hit_rate", "unpriced_requests"] as const;

/** What the cost cell says when nothing in the group has a price: never 0. */
export const UNPRICED = "unpriced";

/**
 * One row's values in USAGE_CSV_COLUMNS order; cost with 6 decimals (micro-dollars, what the
 * ledger keeps), "unpriced" when no request of the group had a price (with some priced, the
 * cost of those and `unpriced_requests` say the rest is unknown); the cache hit rate as a
 * fraction with 4 decimals, empty without input tokens.
 */
export function usageValues(r: UsageSummaryRow): string[] {
  const cost = costKnown(r) === "unpriced" ? UNPRICED : r.costUsd.toFixed(6);
  const hit = cacheHitRate(r);
  return [String(r.requests), String(r.inputTokens), String(r.outputTokens), String(r.cacheReadTokens), String(r.cacheWriteTokens), String(r.reasoningTokens), cost, String(r.errors), hit === null ? "" : hit.toFixed(4), String(r.unpricedRequests ?? 0)];
}

export function usageCsv(rows: readonly UsageSummaryRow[], groupBy: readonly UsageGroup[]): string {
  const header = [...groupBy, ...USAGE_CSV_COLUMNS];
  const lines = rows.map((r) => [...groupBy.map((g) => groupKeyLabel(g, r.keys[g])), ...usageValues(r)]);
  return toCsv([header, ...lines]);
}

/** RFC 4180 CSV (CRLF line ends), every cell through `csvCell`. */
export function toCsv(lines: readonly (readonly string[])[]): string {
  return lines.map((line) => line.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

/** A plain number as this writer prints them; the only cells that may start with "-". */
const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;
/**
 * What a spreadsheet may run as a formula (OWASP "CSV injection"): a first character of
 * = + - @ tab or CR, also after leading spaces or line breaks (some importers trim them), and
 * the full-width forms (＝ ＋ － ＠) that some spreadsheets fold to ASCII. `-1+cmd|…` is a
 * formula, so a leading "-" passes only when the whole cell is a number.
 */
const FORMULA_START = /^[\s]*[=+\-@\t\r\n\uFF1D\uFF0B\uFF0D\uFF20]/;

/**
 * One CSV cell. Model names, teams and caller ids come from clients and IdPs
 * (`=HYPERLINK(…)`), so a cell that could start a formula gets a leading apostrophe, which
 * spreadsheets show as text; cells with a quote, comma or line break are quoted.
 */
export function csvCell(value: string): string {
  const safe = FORMULA_START.test(value) && !PLAIN_NUMBER.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) || safe !== value ? `"${safe.replace(/"/g, '""')}"` : safe;
}
