import type { Command } from "commander";
import { parseSettings } from "../../core/settings.ts";
import { openExistingStore } from "../../adapters/node/existing-store.ts";
import { cacheHitRate, costKnown, usageJsonRow, usageSummary, USAGE_GROUPS, type UsageGroup, type UsageSummaryRow } from "../../ledger/index.ts";
// The dashboard's formatting leaves, not its index: that would load the dashboard module, the MCP
// portal and the sandbox into a command that prints a table (~0.14 s of CPU at start).
import { fmtCost, fmtRate, fmtUsd } from "../../dashboard/html.ts";
import { groupKeyLabel } from "../../dashboard/names.ts";
import { isCalendarDay } from "../../dashboard/range.ts";
import { usageCsv, usageValues, USAGE_CSV_COLUMNS } from "../../dashboard/csv.ts";
import { renderTable } from "../table.ts";

const GROUPS: readonly UsageGroup[] = USAGE_GROUPS;
const FORMATS = ["table", "json", "csv"] as const;

export interface UsageOptions {
  by: string;
  since?: string | undefined;
  until?: string | undefined;
  format: string;
  limit?: string | undefined;
}

/** The grouping and day range of `gatehouse usage`, or an error that says what to type instead. */
export function parseUsageOptions(opts: UsageOptions): { groupBy: UsageGroup[]; since?: string; until?: string; format: (typeof FORMATS)[number]; limit?: number } {
  const groupBy = opts.by
    .split(",")
    .map((g) => g.trim())
    .filter(Boolean);
  const unknown = groupBy.filter((g) => !GROUPS.includes(g as UsageGroup));
  if (unknown.length > 0) throw new Error(`unknown --by value ${unknown.join(", ")}; use ${GROUPS.join(", ")}`);
  const repeated = groupBy.filter((g, i) => groupBy.indexOf(g) !== i);
  if (repeated.length > 0) throw new Error(`--by names ${repeated.join(", ")} twice; name each grouping once (e.g. --by client,session)`);
  for (const [flag, day] of [
    ["--since", opts.since],
    ["--until", opts.until],
  ] as const) {
    if (day !== undefined && !isCalendarDay(day)) throw new Error(`${flag} must be a UTC day as YYYY-MM-DD (e.g. 2026-11-01), got "${day}"`);
  }
  if (opts.since && opts.until && opts.until < opts.since) throw new Error(`--until ${opts.until} is before --since ${opts.since}; --since is the first day, --until the last (both included)`);
  const format = FORMATS.find((f) => f === opts.format);
  if (!format) throw new Error(`--format must be ${FORMATS.join(", ")}, got "${opts.format}"`);
  let limit: number | undefined;
  if (opts.limit !== undefined) {
    limit = /^\d{1,7}$/.test(opts.limit) ? Number(opts.limit) : NaN;
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit must be a whole number of rows from 1, got "${opts.limit}"`);
  }
  return { groupBy: groupBy as UsageGroup[], format, ...(opts.since ? { since: opts.since } : {}), ...(opts.until ? { until: opts.until } : {}), ...(limit !== undefined ? { limit } : {}) };
}

export function registerUsage(program: Command): void {
  program
    .command("usage")
    .description(
      "Print tokens, cost and the prompt-cache hit rate from the ledger, grouped by day, provider, model, caller, team, client (opencode, claude-code, codex, gemini-cli, sdk, other) or the client's session. Reads the gateway's database; never creates one.",
    )
    .option("-b, --by <groups>", `comma-separated grouping: ${GROUPS.join(", ")}`, "day,provider,model")
    .option("--since <day>", "first day to include (YYYY-MM-DD, UTC)")
    .option("--until <day>", "last day to include (YYYY-MM-DD, UTC)")
    .option("-f, --format <format>", "table, json or csv", "table")
    .option("-n, --limit <rows>", "at most this many rows, the most expensive first (unless grouped by day first)")
    .option("-d, --data-dir <dir>", "data directory of the gateway; env GATEHOUSE_DATA_DIR")
    .addHelpText("after", "\nExamples:\n  gatehouse usage --by caller --since 2026-11-01\n  gatehouse usage --by client,session --limit 20\n  gatehouse usage --by provider --format csv > usage.csv")
    .action(async (opts: UsageOptions & { dataDir?: string }) => {
      const { groupBy, since, until, format, limit } = parseUsageOptions(opts);
      const settings = parseSettings(process.env, { dataDir: opts.dataDir });
      const db = await openExistingStore(settings);
      try {
        const rows = await usageSummary(db, { groupBy, since, until, limit });
        process.stdout.write(formatUsage(rows, groupBy, format));
      } finally {
        await db.destroy();
      }
    });
}

/**
 * Table and CSV share the dashboard's column names (`input_tokens`, …), "(no team)" and amounts.
 * A group with requests on unpriced models never shows $0: the table says "unpriced" (or
 * "$X + N unpriced"), the CSV "unpriced" in `cost_usd`, the JSON `costUsd: null` with `cost: "unpriced"`.
 */
export function formatUsage(rows: UsageSummaryRow[], groupBy: UsageGroup[], format: string): string {
  if (format === "json") return `${JSON.stringify(rows.map(usageJsonRow), null, 2)}\n`;
  if (format === "csv") return usageCsv(rows, groupBy);
  if (rows.length === 0) return "No usage recorded for this range.\n";
  const header = [...groupBy, ...USAGE_CSV_COLUMNS];
  // People read the table: the cost as an amount ("$5,000.00", "$0.0042", "unpriced"), the rate as a percentage, as on the dashboard.
  const cost = USAGE_CSV_COLUMNS.indexOf("cost_usd");
  const rate = USAGE_CSV_COLUMNS.indexOf("cache_hit_rate");
  const body = rows.map((r) => [...groupBy.map((g) => groupKeyLabel(g, r.keys[g])), ...usageValues(r).map((v, i) => (i === cost ? fmtCost(r) : i === rate ? fmtRate(cacheHitRate(r)) : v))]);
  const total = rows.reduce((sum, r) => sum + r.costUsd, 0);
  const estimated = rows.reduce((sum, r) => sum + (r.estimatedUsd ?? 0), 0);
  const estimatedRequests = rows.reduce((sum, r) => sum + (r.estimatedRequests ?? 0), 0);
  // Estimated spend is said apart: the provider never sent its usage for those requests.
  const unpriced = rows.reduce((sum, r) => sum + (r.unpricedRequests ?? 0), 0);
  const note =
    (estimatedRequests > 0 ? `, of which ${fmtUsd(estimated)} estimated over ${estimatedRequests} requests whose usage the provider never sent` : "") +
    // Unpriced rows are not free: they are uncounted. Say so, with the fix.
    (unpriced > 0 ? `; + ${unpriced} unpriced requests whose cost is unknown and not in the total (add their price under pricing: in gatehouse.yaml)` : "");
  const totalText = unpriced > 0 && total === 0 ? "unpriced" : fmtUsd(total);
  return `${renderTable(
    [...header, "estimated_usd"],
    // An unpriced group's estimate is as unknown as its cost: "–", not $0.00.
    body.map((line, i) => [...line, rows[i] && costKnown(rows[i]) === "unpriced" ? "–" : fmtUsd(rows[i]?.estimatedUsd ?? 0)]),
  )}\nTotal cost: ${totalText} over ${rows.reduce((s, r) => s + r.requests, 0)} requests${note}\n`;
}
