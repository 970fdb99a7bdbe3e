import { sql, type Kysely } from "kysely";
import { listAuditEntries, type AuditEntry } from "../mcp/index.ts";
import type { Database } from "../store/index.ts";
import type { DayRange } from "./range.ts";

export interface McpToolRow {
  server: string;
  tool: string;
  calls: number;
  ok: number;
  failed: number;
  denied: number;
  avgMs: number;
}

export interface McpActivity {
  tools: McpToolRow[];
  recent: AuditEntry[];
}

const DAY_MS = 86_400_000;

/** The MCP portal's audit log for the range: calls per tool, and the newest calls. */
export async function mcpActivity(db: Kysely<Database>, range: DayRange, recentLimit = 15): Promise<McpActivity> {
  const since = Date.parse(`${range.from}T00:00:00Z`);
  const until = Date.parse(`${range.to}T00:00:00Z`) + DAY_MS;
  const rows = await db
    .selectFrom("mcp_audit")
    .select([
      "server_id",
      "tool",
      sql<number>`count(*)`.as("calls"),
      sql<number>`sum(case when outcome = 'ok' then 1 else 0 end)`.as("ok"),
      sql<number>`sum(case when outcome = 'denied' then 1 else 0 end)`.as("denied"),
      sql<number>`avg(duration_ms)`.as("avg_ms"),
    ])
    .where("ts", ">=", since)
    .where("ts", "<", until)
    .groupBy(["server_id", "tool"])
    .orderBy(sql`count(*)`, "desc")
    .limit(20)
    .execute();
  const tools = rows.map((r) => {
    const calls = Number(r.calls);
    const ok = Number(r.ok);
    const denied = Number(r.denied);
    return { server: r.server_id, tool: r.tool, calls, ok, denied, failed: calls - ok - denied, avgMs: Number(r.avg_ms) };
  });
  const recent = await listAuditEntries(db, { since, until, limit: recentLimit });
  return { tools, recent };
}
