import { resolve } from "node:path";
import type { Command } from "commander";
import { loadOrgConfig } from "../../adapters/node/config-loader.ts";
import { configuredSource } from "../../adapters/node/knowledge/configured-sources.ts";
import { localCatalogSource } from "../../adapters/node/knowledge/local-source.ts";
import { knowledgeLeaseName, markRefreshed } from "../../adapters/node/knowledge/refresh-loop.ts";
import { loadSecrets } from "../../adapters/node/secrets.ts";
import { openStore } from "../../adapters/node/server.ts";
import { systemClock } from "../../core/clock.ts";
import { parseSettings } from "../../core/settings.ts";
import { catalogStore, pruneRemovedSources, refreshCatalog, type CatalogSource, type RemovedSourceReport, type SourceRefreshReport } from "../../knowledge/index.ts";
import { renderTable } from "../table.ts";

/** Problems printed per source in the table view; --json prints them all. */
const SHOWN_PROBLEMS = 20;

interface RefreshOptions {
  depth: string;
  source?: string[];
  json?: boolean;
  config?: string;
  dataDir?: string;
}

export function registerKnowledge(program: Command): void {
  const knowledge = program.command("knowledge").description("Service catalog (Backstage catalog-info.yaml) behind the portal's built-in `knowledge` MCP server. See docs/knowledge.md.");

  knowledge
    .command("refresh")
    .description("Refresh the catalog now: the sources configured under `knowledge.sources` in gatehouse.yaml (all, or those named with --source), or the local paths given. A failing source keeps its previous entities.")
    .argument("[paths...]", "local checkouts or directories of checkouts (instead of the configured sources)")
    .option("-s, --source <name...>", "configured source(s) to refresh (knowledge.sources[].name); default: all of them")
    .option("--depth <n>", "directory levels searched below each path", "4")
    .option("--json", "print the refresh reports as JSON")
    .option("-c, --config <dir>", "organisation config directory (its gatehouse.yaml has knowledge.sources); env GATEHOUSE_CONFIG")
    .option("-d, --data-dir <dir>", "data directory of the gateway; env GATEHOUSE_DATA_DIR (or DATABASE_URL)")
    .addHelpText(
      "after",
      `
Configured sources are refreshed one at a time, in config order, with their tokens from the
gateway's secrets (env vars or GATEHOUSE_SECRETS_FILE). A source no longer in the config
loses its entities (a failing one keeps them). A refresh from here also moves each
source's next due time, so \`gatehouse serve\` does not repeat it at once. Each path given
instead is its own source (id \`local:<absolute path>\`). Exit code 1 when a source failed.

Examples:
  gatehouse knowledge refresh --config ./org                 # every configured source
  gatehouse knowledge refresh --source github-acme --json    # one, for cron or CI
  gatehouse knowledge refresh ~/src ./payments --depth 2     # local paths, no config needed`,
    )
    .action(async (paths: string[], opts: RefreshOptions) => {
      const settings = parseSettings(process.env, { configDir: opts.config, dataDir: opts.dataDir });
      const depth = Number(opts.depth);
      if (!Number.isInteger(depth) || depth < 0 || depth > 10) throw new Error("--depth must be an integer from 0 to 10");
      if (paths.length > 0 && opts.source) throw new Error("give local paths or --source, not both");
      let sources: CatalogSource[];
      let configured: ReturnType<typeof loadOrgConfig>["knowledge"];
      if (paths.length > 0) sources = paths.map((path) => localCatalogSource({ id: `local:${resolve(path)}`, path: resolve(path), maxDepth: depth }));
      else {
        configured = loadOrgConfig(settings.configDir).knowledge;
        const all = configured?.sources ?? [];
        if (all.length === 0) throw new Error(`no catalog sources configured${settings.configDir ? ` in ${settings.configDir}` : " (no --config / GATEHOUSE_CONFIG)"}: add knowledge.sources to gatehouse.yaml, or give local paths`);
        const wanted = opts.source ?? all.map((source) => source.name);
        const unknown = wanted.filter((name) => !all.some((source) => source.name === name));
        if (unknown.length > 0) throw new Error(`unknown source ${unknown.map((name) => `"${name}"`).join(", ")}; configured: ${all.map((source) => source.name).join(", ")}`);
        const secrets = loadSecrets(process.env, settings.secretsFile);
        sources = all.filter((source) => wanted.includes(source.name)).map((source) => configuredSource(source, secrets, settings.configDir ? { configDir: settings.configDir } : {}));
      }
      const db = await openStore(settings);
      try {
        // The whole configured list decides what was removed, even when --source refreshes a few.
        const removed = configured
          ? await pruneRemovedSources(
              catalogStore(db),
              configured.sources.map((source) => source.name),
            )
          : [];
        const reports = await refreshCatalog(catalogStore(db), sources, systemClock);
        if (configured) for (const report of reports) await markRefreshed(db, report.sourceId, configured.refresh, report, systemClock.now());
        printReports(reports, removed, opts.json === true);
        // A source that could not be read is a failure the caller (cron, CI) must see.
        if (reports.some((r) => r.status === "error")) process.exitCode = 1;
      } finally {
        await db.destroy();
      }
    });

  knowledge
    .command("status")
    .description("Each catalog source's state as stored: ok or error, entities, last success, last attempt, next refresh, the last error.")
    .option("--json", "print the sources as JSON")
    .option("-d, --data-dir <dir>", "data directory of the gateway; env GATEHOUSE_DATA_DIR (or DATABASE_URL)")
    .addHelpText("after", "\nThe next refresh is the source's lease in the store (set by `gatehouse serve` and `knowledge refresh`); a source that failed shows its backoff.\n\nExample:\n  gatehouse knowledge status --json")
    .action(async (opts: { json?: boolean; dataDir?: string }) => {
      const db = await openStore(parseSettings(process.env, { dataDir: opts.dataDir }));
      try {
        const sources = await catalogStore(db).sources();
        const leases = await db.selectFrom("cluster_leases").select(["name", "expires_at"]).where("name", "like", "knowledge-refresh:%").execute();
        const nextAt = new Map(leases.map((lease) => [lease.name, Number(lease.expires_at)]));
        const rows = sources.map((source) => ({
          source: source.id,
          target: source.target,
          status: source.status,
          entities: source.entity_count,
          lastSuccessAt: source.last_success_at === null ? null : new Date(Number(source.last_success_at)).toISOString(),
          lastAttemptAt: new Date(Number(source.last_attempt_at)).toISOString(),
          nextRefreshAt: nextAt.has(knowledgeLeaseName(source.id)) ? new Date(nextAt.get(knowledgeLeaseName(source.id)) ?? 0).toISOString() : null,
          error: source.error,
        }));
        if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        else if (rows.length === 0) process.stdout.write("no catalog source has been refreshed yet (gatehouse knowledge refresh, or knowledge.sources in gatehouse.yaml for gatehouse serve)\n");
        else
          process.stdout.write(
            `${renderTable(
              ["source", "status", "entities", "last success", "last attempt", "next refresh", "error"],
              rows.map((r) => [r.source, r.status, String(r.entities), r.lastSuccessAt ?? "never", r.lastAttemptAt, r.nextRefreshAt ?? "-", (r.error ?? "").slice(0, 160)]),
            )}\n`,
          );
        if (rows.some((r) => r.status === "error")) process.exitCode = 1;
      } finally {
        await db.destroy();
      }
    });
}

function printReports(reports: readonly SourceRefreshReport[], removed: readonly RemovedSourceReport[], json: boolean): void {
  if (json) {
    // An array of source reports, as before; a removed source is a report of its own with status "removed".
    const removedReports = removed.map((r) => ({ sourceId: r.sourceId, status: "removed", removed: r.removed }));
    process.stdout.write(`${JSON.stringify([...reports, ...removedReports], null, 2)}\n`);
    return;
  }
  for (const r of removed) process.stdout.write(`source ${r.sourceId} is no longer configured: its ${r.removed} entities were removed\n`);
  const rows = reports.map((r) => [r.sourceId, r.status, String(r.files), String(r.entities), String(r.added), String(r.updated), String(r.removed), String(r.problems.length), String(r.notModified), r.error ?? ""]);
  process.stdout.write(`${renderTable(["source", "status", "files", "entities", "added", "updated", "removed", "problems", "not modified", "error"], rows)}\n`);
  for (const report of reports) {
    for (const problem of report.problems.slice(0, SHOWN_PROBLEMS)) process.stdout.write(`${problem.location}: ${problem.message}\n`);
    if (report.problems.length > SHOWN_PROBLEMS) process.stdout.write(`… ${report.problems.length - SHOWN_PROBLEMS} more problems in ${report.sourceId} (--json prints all)\n`);
  }
}
