import { describe, expect, it } from "vitest";
import { runFleetWithKill, verifyFleetRun } from "./fleet-pr-run.ts";

// The fleet test at suite size; bench/agents-md-fleet.ts runs the same at 2,000 repos
// (too slow for the suite on a loaded 2-core machine: see bench/README.md, "AGENTS.md fleet").
const REPOS = Number(process.env["GATEHOUSE_FLEET_REPOS"] ?? 300);

describe("agents-md generate over a fleet against the fake GitHub, SIGKILL half way, resumed", { timeout: 600_000 }, () => {
  it(`${REPOS} repos of mixed stacks: exactly one PR and one commit each, no finished step redone, the report matches, detection exact`, async () => {
    const run = await runFleetWithKill(REPOS);
    try {
      expect(verifyFleetRun(run)).toEqual([]);
      // Every stack of the fixture set is in the fleet.
      expect(new Set(run.fleet.map((r) => r.variant)).size).toBe(9);
    } finally {
      await run.close();
    }
  });
});
