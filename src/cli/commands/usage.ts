import type { Command } from "commander";
import { parseSettings } from "../../core/settings.ts";
import { openExistingStore } from "../../adapters/node/existing-store.ts";
import { usageSummary, type UsageGroup, type UsageSummaryRow } from "../../ledger/index.ts";
// The dashboard's formatting leaves, not its index: that would load the dashboard module, the MCP
// portal and the sandbox into a command that prints a table (~0.14 s of CPU at start).
import { fmtUsd } from "../../dashboard/html.ts";
import { groupKeyLabel } from "../../dashboard/names.ts";
import { isCalendarDay } from "../../dashboard/range.ts";
import { usageCsv, usageValues, USAGE_CSV_COLUMNS } from "../../dashboard/csv.ts";
import { renderTable } from "../table.ts";

const GROUPS: readonly UsageGroup[] = ["day", "provider", "model", "caller", "team"];
const FORMATS = ["table", "json", "csv"] as const;

export interface UsageOptions {
  by: string;
  since?: string | undefined;
  until?: string | undefined;
  format: string;
}

/** The grouping and day range of `gatehouse usage`, or an error that says what to type instead. */
export function parseUsageOptions(opts: UsageOptions): { groupBy: UsageGroup[]; since?: string; until?: string; format: (typeof FORMATS)[number] } {
  const groupBy = opts.by
    .split(",")
    .map((g) => g.trim())
    .filter(Boolean);
  const unknown = groupBy.filter((g) => !GROUPS.includes(g as UsageGroup));
  if (unknown.length > 0) throw new Error(`unknown --by value ${unknown.join(", ")}; use ${GROUPS.join(", ")}`);
  for (const [flag, day] of [
    ["--since", opts.since],
    ["--until", opts.until],
  ] as const) {
    if (day !== undefined && !isCalendarDay(day)) throw new Error(`${flag} must be a UTC day as YYYY-MM-DD (e.g. 2026-11-01), got "${day}"`);
  }
  if (opts.since && opts.until && opts.until < opts.since) throw new Error(`--until ${opts.until} is before --since ${opts.since}; --since is the first day, --until the last (both included)`);
  const format = FORMATS.find((f) => f === opts.format);
  if (!format) throw new Error(`--format must be ${FORMATS.join(", ")}, got "${opts.format}"`);
  return { groupBy: groupBy as UsageGroup[], format, ...(opts.since ? { since: opts.since } : {}), ...(opts.until ? { until: opts.until } : {}) };
}

export function registerUsage(program: Command): void {
  program
    .command("usage")
    .description("Print tokens and cost from the ledger, grouped by day, provider, model, caller or team. Reads the gateway's database; never creates one.")
    .option("-b, --by <groups>", `comma-separated grouping: ${GROUPS.join(", ")}`, "day,provider,model")
    .option("--since <day>", "first day to include (YYYY-MM-DD, UTC)")
    .option("--until <day>", "last day to include (YYYY-MM-DD, UTC)")
    .option("-f, --format <format>", "table, json or csv", "table")
    .option("-d, --data-dir <dir>", "data directory of the gateway; env GATEHOUSE_DATA_DIR")
    .addHelpText("after", "\nExamples:\n  gatehouse usage --by caller --since 2026-11-01\n  gatehouse usage --by provider --format csv > usage.csv")
    .action(async (opts: UsageOptions & { dataDir?: string }) => {
      const { groupBy, since, until, format } = parseUsageOptions(opts);
      const settings = parseSettings(process.env, { dataDir: opts.dataDir });
      const db = await openExistingStore(settings);
      try {
        const rows = await usageSummary(db, { groupBy, since, until });
        process.stdout.write(formatUsage(rows, groupBy, format));
      } finally {
        await db.destroy();
      }
    });
}

/** Table and CSV share the dashboard's column names (`input_tokens`, …), "(no team)" and amounts. */
export function formatUsage(rows: UsageSummaryRow[], groupBy: UsageGroup[], format: string): string {
  if (format === "json") return `${JSON.stringify(rows, null, 2)}\n`;
  if (format === "csv") return usageCsv(rows, groupBy);
  if (rows.length === 0) return "No usage recorded for this range.\n";
  const header = [...groupBy, ...USAGE_CSV_COLUMNS];
  // People read the table: the cost as an amount ("$5,000.00", "$0.0042"), as on the dashboard.
  const cost = USAGE_CSV_COLUMNS.indexOf("cost_usd");
  const body = rows.map((r) => [...groupBy.map((g) => groupKeyLabel(g, r.keys[g])), ...usageValues(r).map((v, i) => (i === cost ? fmtUsd(r.costUsd) : v))]);
  const total = rows.reduce((sum, r) => sum + r.costUsd, 0);
  const estimated = rows.reduce((sum, r) => sum + (r.estimatedUsd ?? 0), 0);
  const estimatedRequests = rows.reduce((sum, r) => sum + (r.estimatedRequests ?? 0), 0);
  // Estimated spend is said apart: the provider never sent its usage for those requests.
  const unpriced = rows.reduce((sum, r) => sum + (r.unpricedRequests ?? 0), 0);
  const note =
    (estimatedRequests > 0 ? `, of which ${fmtUsd(estimated)} estimated over ${estimatedRequests} requests whose usage the provider never sent` : "") +
    // Unpriced rows are not free: they are uncounted. Say so, with the fix.
    (unpriced > 0 ? `; ${unpriced} requests on unpriced models are not in the total (add their price under pricing: in gatehouse.yaml)` : "");
  return `${renderTable(
    [...header, "estimated_usd"],
    body.map((line, i) => [...line, fmtUsd(rows[i]?.estimatedUsd ?? 0)]),
  )}\nTotal cost: ${fmtUsd(total)} over ${rows.reduce((s, r) => s + r.requests, 0)} requests${note}\n`;
}
