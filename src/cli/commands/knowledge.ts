import { resolve } from "node:path";
import type { Command } from "commander";
import { localCatalogSource } from "../../adapters/node/knowledge/local-source.ts";
import { openStore } from "../../adapters/node/server.ts";
import { systemClock } from "../../core/clock.ts";
import { parseSettings } from "../../core/settings.ts";
import { catalogStore, refreshCatalog } from "../../knowledge/index.ts";
import { renderTable } from "../table.ts";

/** Problems printed per source in the table view; --json prints them all. */
const SHOWN_PROBLEMS = 20;

export function registerKnowledge(program: Command): void {
  const knowledge = program.command("knowledge").description("Service catalog (Backstage catalog-info.yaml) behind the portal's built-in `knowledge` MCP server. See docs/knowledge.md.");

  knowledge
    .command("refresh")
    .description("Read catalog-info.yaml files under each path (a checkout or a directory of checkouts) and store what changed. A failing path keeps its previous entities.")
    .argument("<paths...>", "local checkouts or directories of checkouts")
    .option("--depth <n>", "directory levels searched below each path", "4")
    .option("--json", "print the refresh reports as JSON")
    .option("-d, --data-dir <dir>", "data directory of the gateway; env GATEHOUSE_DATA_DIR")
    .addHelpText("after", "\nEach path is its own source (id `local:<absolute path>`): entities another path already provides are reported, not taken over.\n\nExamples:\n  gatehouse knowledge refresh ~/src\n  gatehouse knowledge refresh ./payments ./ledger --json")
    .action(async (paths: string[], opts: { depth: string; json?: boolean; dataDir?: string }) => {
      const depth = Number(opts.depth);
      if (!Number.isInteger(depth) || depth < 0 || depth > 10) throw new Error("--depth must be an integer from 0 to 10");
      const sources = paths.map((path) => localCatalogSource({ id: `local:${resolve(path)}`, path: resolve(path), maxDepth: depth }));
      const db = await openStore(parseSettings(process.env, { dataDir: opts.dataDir }));
      try {
        const reports = await refreshCatalog(catalogStore(db), sources, systemClock);
        if (opts.json) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
        else {
          const rows = reports.map((r) => [r.sourceId, r.status, String(r.files), String(r.entities), String(r.added), String(r.updated), String(r.removed), String(r.problems.length), r.error ?? ""]);
          process.stdout.write(`${renderTable(["source", "status", "files", "entities", "added", "updated", "removed", "problems", "error"], rows)}\n`);
          for (const report of reports) {
            for (const problem of report.problems.slice(0, SHOWN_PROBLEMS)) process.stdout.write(`${problem.location}: ${problem.message}\n`);
            if (report.problems.length > SHOWN_PROBLEMS) process.stdout.write(`… ${report.problems.length - SHOWN_PROBLEMS} more problems in ${report.sourceId} (--json prints all)\n`);
          }
        }
        // A source that could not be read is a failure the caller (cron, CI) must see.
        if (reports.some((r) => r.status === "error")) process.exitCode = 1;
      } finally {
        await db.destroy();
      }
    });
}
