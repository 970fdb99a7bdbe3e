import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { openStore } from "../../src/adapters/node/server.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { AuditLog } from "../../src/mcp/audit.ts";

const run = promisify(execFile);
const BIN = fileURLToPath(new URL("../../bin/gatehouse.js", import.meta.url));

// Runs the CLI as child processes: generous per-test time on a loaded 2-core machine.
describe("gatehouse mcp audit", { timeout: 120_000 }, () => {
  it("prints the audit log filtered, as JSON and as a table, and rejects bad options", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-mcp-audit-"));
    const db = await openStore(parseSettings({}, { dataDir }));
    const audit = new AuditLog(db, silentLogger);
    const base = { team: "eng", sessionId: "s1", via: "direct" as const, error: null, argumentsJson: null, resultJson: null };
    audit.record({ ...base, id: "a", ts: Date.parse("2026-11-01T10:00:00Z"), callerId: "alice", serverId: "tickets", tool: "create_ticket", outcome: "ok", durationMs: 12.5 });
    audit.record({ ...base, id: "b", ts: Date.parse("2026-11-02T10:00:00Z"), callerId: "bob", serverId: "tickets", tool: "delete_ticket", outcome: "denied", durationMs: 0.2, error: "not visible to caller" });
    await audit.flush();
    await db.destroy();

    const json = await run(process.execPath, [BIN, "mcp", "audit", "--json", "--outcome", "denied", "-d", dataDir]);
    const rows = JSON.parse(json.stdout) as { callerId: string; tool: string }[];
    expect(rows.map((r) => `${r.callerId}/${r.tool}`)).toEqual(["bob/delete_ticket"]);

    const table = await run(process.execPath, [BIN, "mcp", "audit", "--since", "2026-11-01", "-d", dataDir]);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^time\s+caller\s+team\s+server\s+tool/);
    expect(lines[2]).toContain("bob");
    expect(lines[3]).toContain("create_ticket");

    await expect(run(process.execPath, [BIN, "mcp", "audit", "--outcome", "maybe", "-d", dataDir])).rejects.toThrow(/--outcome must be one of/);
  });
});
