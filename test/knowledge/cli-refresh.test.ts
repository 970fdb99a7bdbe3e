import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/adapters/node/server.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { catalogQueries } from "../../src/knowledge/index.ts";
import { checkouts, ledgerRepo, orgRepo, paymentsRepo } from "./fixtures.ts";

const run = promisify(execFile);
const BIN = fileURLToPath(new URL("../../bin/gatehouse.js", import.meta.url));

// Runs the CLI as child processes: generous per-test time on a loaded 2-core machine.
describe("gatehouse knowledge refresh", { timeout: 120_000 }, () => {
  it("stores the catalog of local checkouts, reports problems, and exits 1 when a path cannot be read", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-knowledge-cli-"));
    const repos = checkouts({ "payments/catalog-info.yaml": paymentsRepo, "org/catalog-info.yaml": orgRepo, "broken/catalog-info.yaml": "kind: [" });
    const first = await run(process.execPath, [BIN, "knowledge", "refresh", repos, "-d", dataDir]);
    expect(first.stdout).toMatch(/^source\s+status\s+files\s+entities\s+added/);
    expect(first.stdout).toMatch(new RegExp(`local:${repos}\\s+ok\\s+3\\s+7\\s+7\\s+0\\s+0\\s+1`));
    expect(first.stdout).toMatch(/broken\/catalog-info.yaml: YAML document 1/);

    const ledger = checkouts({ "ledger/catalog-info.yaml": ledgerRepo });
    const second = run(process.execPath, [BIN, "knowledge", "refresh", join(dataDir, "no-such-dir"), ledger, "--json", "-d", dataDir]);
    const failure = await second.then(
      () => undefined,
      (err: { code: number; stdout: string }) => err,
    );
    expect(failure?.code).toBe(1);
    const reports = JSON.parse(failure?.stdout ?? "[]") as { status: string; added: number; error?: string }[];
    expect(reports.map((r) => r.status)).toEqual(["error", "ok"]);
    expect(reports[0]?.error).toMatch(/ENOENT/);
    expect(reports[1]?.added).toBe(1);

    const db = await openStore(parseSettings({}, { dataDir }));
    try {
      const queries = catalogQueries(db);
      expect("found" in (await queries.resolve("component:default/ledger"))).toBe(true);
      expect((await queries.related("component:default/payments", ["ownedBy"])).map((r) => r.target)).toEqual(["group:default/team-payments"]);
    } finally {
      await db.destroy();
    }
  });
});
