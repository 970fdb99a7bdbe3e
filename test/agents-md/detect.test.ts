import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localRepoAccess, readCheckout } from "../../src/adapters/node/agents-md/checkout.ts";
import { localCatalogSource } from "../../src/adapters/node/knowledge/local-source.ts";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { detectRepo, generateStep, MAX_LINES, planAgentsMd } from "../../src/agents-md/index.ts";
import { lintRules } from "../../src/codex/index.ts";
import { systemClock } from "../../src/core/clock.ts";
import { catalogQueries, catalogStore, refreshCatalog } from "../../src/knowledge/index.ts";
import { migrateToLatest, type Database } from "../../src/store/index.ts";
import { readRuleFiles } from "../../src/cli/commands/codex.ts";
import { generateFleet, type ExpectedRepo } from "./fleet.ts";

const rules = lintRules(readRuleFiles(join(import.meta.dirname, "../../examples/config/codex"))).rules;
let root: string;
let fleet: ExpectedRepo[];
let db: Kysely<Database>;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "gatehouse-fleet-"));
  fleet = generateFleet(root, 54);
  db = openSqlite(join(mkdtempSync(join(tmpdir(), "gatehouse-agentsmd-db-")), "g.db"));
  await migrateToLatest(db);
  const [report] = await refreshCatalog(catalogStore(db), [localCatalogSource({ id: "fleet", path: root })], systemClock);
  expect(report).toMatchObject({ status: "ok", entities: 54, problems: [] });
}, 120_000);
afterAll(async () => {
  await db?.destroy();
});

describe("AGENTS.md detection over a mixed fleet", { timeout: 120_000 }, () => {
  it("is exact on every stack: commands, package managers, components, workspaces, generated dirs", () => {
    for (const expected of fleet) {
      const detection = detectRepo(readCheckout(join(root, expected.name)));
      const root_ = detection.components.filter((c) => c.path === ".");
      expect({
        name: expected.name,
        variant: expected.variant,
        commands: detection.commands.map((c) => c.command),
        components: detection.components.map((c) => `${c.path} ${c.stack} ${c.packageManager}`),
        workspaces: root_.flatMap((c) => c.workspaces),
        generatedDirs: detection.generatedDirs,
      }).toEqual({
        name: expected.name,
        variant: expected.variant,
        commands: expected.commands,
        components: expected.components,
        workspaces: expected.workspaces,
        generatedDirs: expected.generatedDirs,
      });
    }
  });

  it("writes the catalog's owner and both directions of dependencies, the Codex rules that apply, within the line limit; a rerun writes nothing", async () => {
    const step = generateStep(localRepoAccess, catalogQueries(db), rules);
    const ctx = { attempt: 1, signal: new AbortController().signal, addCost: () => undefined };
    const target = fleet[12];
    if (!target) throw new Error("fleet too small");
    const first = await step({ path: join(root, target.name) }, { ...ctx, item: target.name });
    expect(first).toMatchObject({ result: { written: true, ref: `component:default/${target.name}` } });
    const text = readFileSync(join(root, target.name, "AGENTS.md"), "utf8");
    expect(text.split("\n").length).toBeLessThanOrEqual(MAX_LINES);
    for (const section of ["## Repository", "## How to navigate", "## Conventions", "## Boundaries", "## Dependencies", "### Depends on", "### Depended on by"]) expect(text).toContain(`\n${section}\n`);
    expect(text).toContain(`owned by \`${target.owner}\``);
    expect(text).toContain("- `component:default/svc-0011`");
    expect(text).toContain("### Depended on by\n- `component:default/svc-0013`");
    // svc-0012 is python-tox: only language-agnostic rules apply; a TypeScript repo gets the TS rule.
    expect(text).toContain("`no-secrets-in-logs`");
    expect(text).not.toContain("`ts-no-floating-promises`");
    const ts = await planAgentsMd(readCheckout(join(root, "svc-0000")), "svc-0000", catalogQueries(db), rules);
    expect(ts.text).toContain("`ts-no-floating-promises`");
    expect(ts.text).toContain("Generated, never edit by hand: `dist/`, `node_modules/`");
    const again = await step({ path: join(root, target.name) }, { ...ctx, item: target.name });
    expect(again).toMatchObject({ result: { written: false } });
  });
});
