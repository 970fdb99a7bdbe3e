import type { Command } from "commander";
import { parseSettings } from "../../core/settings.ts";
import { openStore } from "../../adapters/node/server.ts";
import { usageSummary, type UsageGroup, type UsageSummaryRow } from "../../ledger/index.ts";
import { renderTable } from "../table.ts";

const GROUPS: readonly UsageGroup[] = ["day", "provider", "model", "caller", "team"];

export function registerUsage(program: Command): void {
  program
    .command("usage")
    .description("Print tokens and cost from the ledger, grouped by day, provider, model, caller or team.")
    .option("-b, --by <groups>", `comma-separated grouping: ${GROUPS.join(", ")}`, "day,provider,model")
    .option("--since <day>", "first day to include (YYYY-MM-DD, UTC)")
    .option("--until <day>", "last day to include (YYYY-MM-DD, UTC)")
    .option("-f, --format <format>", "table, json or csv", "table")
    .option("-d, --data-dir <dir>", "data directory of the gateway; env GATEHOUSE_DATA_DIR")
    .addHelpText("after", "\nExamples:\n  gatehouse usage --by caller --since 2026-11-01\n  gatehouse usage --by provider --format csv > usage.csv")
    .action(async (opts: { by: string; since?: string; until?: string; format: string; dataDir?: string }) => {
      const groupBy = opts.by.split(",").map((g) => g.trim()).filter(Boolean);
      const unknown = groupBy.filter((g) => !GROUPS.includes(g as UsageGroup));
      if (unknown.length > 0) throw new Error(`unknown --by value ${unknown.join(", ")}; use ${GROUPS.join(", ")}`);
      for (const day of [opts.since, opts.until]) if (day && !/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error(`dates are YYYY-MM-DD, got ${day}`);
      if (!["table", "json", "csv"].includes(opts.format)) throw new Error(`--format must be table, json or csv`);
      const settings = parseSettings(process.env, { dataDir: opts.dataDir });
      const db = await openStore(settings);
      try {
        const rows = await usageSummary(db, { groupBy: groupBy as UsageGroup[], since: opts.since, until: opts.until });
        process.stdout.write(formatUsage(rows, groupBy as UsageGroup[], opts.format));
      } finally {
        await db.destroy();
      }
    });
}

export function formatUsage(rows: UsageSummaryRow[], groupBy: UsageGroup[], format: string): string {
  if (format === "json") return `${JSON.stringify(rows, null, 2)}\n`;
  const header = [...groupBy, "requests", "input", "output", "cache_read", "cache_write", "reasoning", "cost_usd", "errors"];
  const body = rows.map((r) => [
    ...groupBy.map((g) => r.keys[g] ?? "-"),
    String(r.requests),
    String(r.inputTokens),
    String(r.outputTokens),
    String(r.cacheReadTokens),
    String(r.cacheWriteTokens),
    String(r.reasoningTokens),
    r.costUsd.toFixed(6),
    String(r.errors),
  ]);
  if (format === "csv") return [header, ...body].map((line) => line.map(csvCell).join(",")).join("\n") + "\n";
  if (rows.length === 0) return "No usage recorded for this range.\n";
  const total = rows.reduce((sum, r) => sum + r.costUsd, 0);
  return `${renderTable(header, body)}\nTotal cost: $${total.toFixed(4)} over ${rows.reduce((s, r) => s + r.requests, 0)} requests\n`;
}

function csvCell(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
