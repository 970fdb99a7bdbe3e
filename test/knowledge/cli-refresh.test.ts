import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/adapters/node/server.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { catalogQueries, knowledgeDb } from "../../src/knowledge/index.ts";
import { startFakeGitHub } from "../fake-github/index.ts";
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

describe("gatehouse knowledge refresh --source / status (configured sources)", { timeout: 120_000 }, () => {
  it("refreshes a configured GitHub source with its token from the environment, never prints the token, and shows the status", async () => {
    const token = "ghp_cliTokenThatMustNeverLeak0123456789ab";
    const github = await startFakeGitHub({ org: "acme", token });
    try {
      github.addRepo("payments", { "catalog-info.yaml": paymentsRepo });
      const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-knowledge-cli-"));
      const configDir = mkdtempSync(join(tmpdir(), "gatehouse-knowledge-config-"));
      const local = checkouts({ "org/catalog-info.yaml": orgRepo });
      writeFileSync(join(configDir, "gatehouse.yaml"), `knowledge:\n  sources:\n    - { type: github, name: acme, org: acme, apiUrl: "${github.url}", tokenSecret: CATALOG_GITHUB_TOKEN }\n    - { type: local, name: checkouts, path: "${local}" }\n`);
      const env = { ...process.env, CATALOG_GITHUB_TOKEN: token };
      const first = await run(process.execPath, [BIN, "knowledge", "refresh", "--source", "acme", "-c", configDir, "-d", dataDir, "--json"], { env });
      const reports = JSON.parse(first.stdout) as { sourceId: string; status: string; added: number }[];
      expect(reports).toEqual([expect.objectContaining({ sourceId: "acme", status: "ok", added: 3 })]);

      // Token revoked: exit 1, the error says 401, the token is in no output.
      github.faults.push({ path: /^\/orgs\/acme\/repos/, times: 1, fault: { kind: "status", status: 401, body: JSON.stringify({ message: `Bad credentials ${token}`, status: "401" }) } });
      const failed = await run(process.execPath, [BIN, "knowledge", "refresh", "-c", configDir, "-d", dataDir], { env }).then(
        () => undefined,
        (err: { code: number; stdout: string; stderr: string }) => err,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stdout).toMatch(/acme\s+error\s+/);
      expect(failed?.stdout).toMatch(/checkouts\s+ok\s+1\s+4\s+4/);
      const status = await run(process.execPath, [BIN, "knowledge", "status", "-d", dataDir, "--json"]).then(
        () => undefined,
        (err: { code: number; stdout: string; stderr: string }) => err,
      );
      expect(status?.code).toBe(1);
      const rows = JSON.parse(status?.stdout ?? "[]") as { source: string; status: string; entities: number; nextRefreshAt: string | null; error: string | null }[];
      expect(rows).toEqual([
        expect.objectContaining({ source: "acme", status: "error", entities: 3, error: expect.stringContaining("HTTP 401 (Bad credentials [redacted])"), nextRefreshAt: expect.any(String) }),
        expect.objectContaining({ source: "checkouts", status: "ok", entities: 4, error: null }),
      ]);
      for (const output of [first.stdout, first.stderr, failed?.stdout, failed?.stderr, status?.stdout, status?.stderr]) expect(output ?? "").not.toContain(token);

      const unknown = await run(process.execPath, [BIN, "knowledge", "refresh", "--source", "nope", "-c", configDir, "-d", dataDir], { env }).then(
        () => undefined,
        (err: { code: number; stderr: string }) => err,
      );
      expect(unknown?.stderr).toContain('unknown source "nope"; configured: acme, checkouts');

      // `checkouts` taken out of the config, `acme` still in it but failing, an ad-hoc path refreshed
      // from the command line: a refresh of acme alone removes checkouts' entities, keeps the failing
      // source's and the ad-hoc one's.
      const adHoc = checkouts({ "ledger/catalog-info.yaml": ledgerRepo });
      await run(process.execPath, [BIN, "knowledge", "refresh", adHoc, "-d", dataDir]);
      writeFileSync(join(configDir, "gatehouse.yaml"), `knowledge:\n  sources:\n    - { type: github, name: acme, org: acme, apiUrl: "${github.url}", tokenSecret: CATALOG_GITHUB_TOKEN }\n`);
      github.faults.push({ path: /^\/orgs\/acme\/repos/, times: 1, fault: { kind: "status", status: 503, body: JSON.stringify({ message: "Service Unavailable" }) } });
      const pruned = await run(process.execPath, [BIN, "knowledge", "refresh", "--source", "acme", "-c", configDir, "-d", dataDir, "--json"], { env }).then(
        () => undefined,
        (err: { code: number; stdout: string }) => err,
      );
      expect(pruned?.code).toBe(1);
      expect(JSON.parse(pruned?.stdout ?? "[]")).toEqual([expect.objectContaining({ sourceId: "acme", status: "error" }), { sourceId: "checkouts", status: "removed", removed: 4 }]);
      const db = await openStore(parseSettings({}, { dataDir }));
      try {
        const queries = catalogQueries(db);
        expect("found" in (await queries.resolve("component:default/payments"))).toBe(true);
        expect("found" in (await queries.resolve("component:default/ledger"))).toBe(true);
        expect("found" in (await queries.resolve("group:default/team-payments"))).toBe(false);
        const left = await knowledgeDb(db).selectFrom("knowledge_sources").select("id").orderBy("id").execute();
        expect(left.map((row) => row.id)).toEqual(["acme", `local:${adHoc}`]);
        const relations = await knowledgeDb(db).selectFrom("knowledge_relations").select("origin_ref").where("origin_ref", "like", "group:%").execute();
        expect(relations).toEqual([]);
      } finally {
        await db.destroy();
      }
    } finally {
      await github.close();
    }
  });
});
