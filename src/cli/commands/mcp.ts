import type { Command } from "commander";
import { parseSettings } from "../../core/settings.ts";
import { openExistingStore } from "../../adapters/node/existing-store.ts";
// Leaves, not the dashboard's index (which loads the dashboard module as well).
import { NO_TEAM } from "../../dashboard/names.ts";
import { isCalendarDay } from "../../dashboard/range.ts";
import { AUDIT_OUTCOMES, listAuditEntries, type AuditFilter, type AuditOutcome } from "../../mcp/index.ts";
import { renderTable } from "../table.ts";

const OUTCOMES: readonly AuditOutcome[] = AUDIT_OUTCOMES;

export function registerMcp(program: Command): void {
  const mcp = program.command("mcp").description("MCP server portal (/mcp): inspect the audit log of tool calls. See docs/mcp.md.");

  mcp
    .command("audit")
    .description("Print MCP tool calls from the audit log, newest first: when, who (anonymous id), server, tool, outcome, duration.")
    .option("--caller <id>", "only this anonymous caller id")
    .option("--server <id>", "only this MCP server")
    .option("--tool <name>", "only this tool (name without the server prefix)")
    .option("--outcome <outcome>", `only this outcome: ${OUTCOMES.join(", ")}`)
    .option("--since <iso>", "only calls at or after this time (ISO 8601, e.g. 2026-11-01 or 2026-11-01T09:00Z)")
    .option("-n, --limit <n>", "most rows to print (at most 1000)", "50")
    .option("--json", "print JSON instead of a table")
    .option("-d, --data-dir <dir>", "data directory of the gateway; env GATEHOUSE_DATA_DIR")
    .addHelpText("after", "\nExamples:\n  gatehouse mcp audit --outcome denied\n  gatehouse mcp audit --server tickets --since 2026-11-01 --json")
    .action(async (opts: { caller?: string; server?: string; tool?: string; outcome?: string; since?: string; limit: string; json?: boolean; dataDir?: string }) => {
      if (opts.outcome && !OUTCOMES.includes(opts.outcome as AuditOutcome)) throw new Error(`--outcome must be one of ${OUTCOMES.join(", ")}`);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new Error("--limit must be an integer from 1 to 1000");
      const since = opts.since === undefined ? undefined : Date.parse(opts.since);
      // Date.parse rolls 2026-02-30 over into March; the day part must be a real day.
      const day = opts.since?.match(/^\d{4}-\d{2}-\d{2}/)?.[0];
      if (since !== undefined && (Number.isNaN(since) || (day !== undefined && !isCalendarDay(day)))) throw new Error(`--since must be an ISO 8601 day or time (e.g. 2026-11-01 or 2026-11-01T09:00Z), got "${opts.since}"`);
      const filter: AuditFilter = { limit };
      if (opts.caller) filter.callerId = opts.caller;
      if (opts.server) filter.serverId = opts.server;
      if (opts.tool) filter.tool = opts.tool;
      if (opts.outcome) filter.outcome = opts.outcome as AuditOutcome;
      if (since !== undefined) filter.since = since;
      const settings = parseSettings(process.env, { dataDir: opts.dataDir });
      const db = await openExistingStore(settings);
      try {
        const rows = await listAuditEntries(db, filter);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        const table = rows.map((r) => [new Date(r.ts).toISOString(), r.callerId, r.team ?? NO_TEAM, r.serverId, r.tool, r.via, r.outcome, r.durationMs.toFixed(1), r.error ?? ""]);
        process.stdout.write(`${renderTable(["time", "caller", "team", "server", "tool", "via", "outcome", "ms", "error"], table)}\n`);
      } finally {
        await db.destroy();
      }
    });
}
