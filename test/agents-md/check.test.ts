import { execFile } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { localRepoAccess, readCheckout } from "../../src/adapters/node/agents-md/checkout.ts";
import { localCatalogSource } from "../../src/adapters/node/knowledge/local-source.ts";
import { openStore } from "../../src/adapters/node/store.ts";
import { checkAgentsMd, generateStep, planAgentsMd } from "../../src/agents-md/index.ts";
import { systemClock } from "../../src/core/clock.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { catalogQueries, catalogStore, refreshCatalog } from "../../src/knowledge/index.ts";
import { generateFleet } from "./fleet.ts";

const run = promisify(execFile);
const BIN = fileURLToPath(new URL("../../bin/gatehouse.js", import.meta.url));
const ctx = { attempt: 1, signal: new AbortController().signal, addCost: () => undefined, item: "x" };

async function setup() {
  const root = mkdtempSync(join(tmpdir(), "gatehouse-check-"));
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-check-data-"));
  generateFleet(root, 3); // svc-0000 node-npm, svc-0001 pnpm workspaces, svc-0002 poetry
  const db = await openStore(parseSettings({}, { dataDir }));
  const source = localCatalogSource({ id: "fleet", path: root });
  await refreshCatalog(catalogStore(db), [source], systemClock);
  for (const name of ["svc-0000", "svc-0001", "svc-0002"]) await generateStep(localRepoAccess, catalogQueries(db), [])({ path: join(root, name) }, ctx);
  return { root, dataDir, db, source };
}

async function findings(root: string, name: string, db: Awaited<ReturnType<typeof setup>>["db"]) {
  const repo = readCheckout(join(root, name));
  const { detection, facts } = await planAgentsMd(repo, name, catalogQueries(db), []);
  return checkAgentsMd(repo.read("AGENTS.md"), repo, detection, facts).map((f) => `${f.materiality} ${f.kind}: ${f.message}`);
}

describe("agents-md check", { timeout: 120_000 }, () => {
  it("finds nothing on a fresh file; reports scripts, paths, owners and dependencies that changed, each with its materiality", async () => {
    const { root, db, source } = await setup();
    try {
      expect(await findings(root, "svc-0000", db)).toEqual([]);
      // Scripts: lint removed, format added. Paths: packages/b removed. Owner and dependencies: changed in the catalog.
      const pkg = join(root, "svc-0000", "package.json");
      const manifest = JSON.parse(readFileSync(pkg, "utf8")) as { scripts: Record<string, string> };
      delete manifest.scripts["lint"];
      manifest.scripts["format"] = "prettier -w .";
      writeFileSync(pkg, JSON.stringify(manifest));
      rmSync(join(root, "svc-0001", "packages", "b"), { recursive: true });
      const info = join(root, "svc-0002", "catalog-info.yaml");
      writeFileSync(info, readFileSync(info, "utf8").replace("owner: team-2", "owner: team-platform").replace("    - component:default/svc-0001\n", "    - component:default/svc-0000\n"));
      await refreshCatalog(catalogStore(db), [source], systemClock);

      expect(await findings(root, "svc-0000", db)).toEqual([
        "high command-gone: `npm run lint` is no longer declared (was package.json#scripts.lint)",
        "low command-new: `npm run format` (package.json#scripts.format) is not in AGENTS.md",
        // svc-0002 now depends on svc-0000 too.
        "low dependent-changed: depended on by 2 entities now, AGENTS.md lists 1",
      ]);
      expect(await findings(root, "svc-0001", db)).toEqual(["medium path-gone: `packages/b/` no longer exists", "low dependent-changed: depended on by 0 entities now, AGENTS.md lists 1"]);
      expect(await findings(root, "svc-0002", db)).toEqual([
        "high owner-changed: owner is `group:default/team-platform` in the catalog, AGENTS.md says `group:default/team-2`",
        "medium dependency-added: now depends on `component:default/svc-0000`",
        "medium dependency-removed: no longer depends on `component:default/svc-0001`",
      ]);
      // Over the length limit, and a hand-written file without claims.
      appendFileSync(join(root, "svc-0000", "AGENTS.md"), "filler\n".repeat(200));
      expect(await findings(root, "svc-0000", db)).toContainEqual(expect.stringMatching(/^low too-long: AGENTS.md has \d+ lines, over the limit of 200$/));
      writeFileSync(join(root, "svc-0001", "AGENTS.md"), "# Notes\n");
      expect(await findings(root, "svc-0001", db)).toEqual([expect.stringMatching(/^medium unchecked: /)]);
      rmSync(join(root, "svc-0001", "AGENTS.md"));
      expect(await findings(root, "svc-0001", db)).toEqual([expect.stringMatching(/^high missing-file: /)]);
    } finally {
      await db.destroy();
    }
  });

  it("the CLI exits 1 on a high finding and 0 on a fresh file", async () => {
    const { root, dataDir, db } = await setup();
    await db.destroy();
    const fresh = await run(process.execPath, [BIN, "agents-md", "check", join(root, "svc-0002"), "-d", dataDir]);
    expect(fresh.stdout).toContain("AGENTS.md is up to date");
    const pkg = join(root, "svc-0000", "package.json");
    writeFileSync(pkg, readFileSync(pkg, "utf8").replace('"test":"vitest run",', ""));
    const stale = await run(process.execPath, [BIN, "agents-md", "check", join(root, "svc-0000"), "--json", "-d", dataDir]).then(
      () => undefined,
      (err: { code: number; stdout: string }) => err,
    );
    expect(stale?.code).toBe(1);
    expect(JSON.parse(stale?.stdout ?? "{}")).toMatchObject({ findings: [{ materiality: "high", kind: "command-gone", message: expect.stringContaining("npm run test") }] });
  });
});
