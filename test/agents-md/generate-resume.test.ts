import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { localCatalogSource } from "../../src/adapters/node/knowledge/local-source.ts";
import { openStore } from "../../src/adapters/node/store.ts";
import { systemClock } from "../../src/core/clock.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { catalogStore, refreshCatalog } from "../../src/knowledge/index.ts";
import { generateFleet } from "./fleet.ts";

const BIN = fileURLToPath(new URL("../../bin/gatehouse.js", import.meta.url));
const REPOS = 300;

interface StepLine {
  event: string;
  item?: string;
  status?: string;
}

function generate(dataDir: string, onLine: (line: StepLine) => void): { kill(): void; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> } {
  const child = spawn(process.execPath, [BIN, "agents-md", "generate", "--catalog", "--json", "--lease-ms", "2000", "--concurrency", "4", "-d", dataDir], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let partial = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => {
    partial += d.toString();
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line.startsWith("{")) onLine(JSON.parse(line) as StepLine);
  });
  return { kill: () => child.kill("SIGKILL"), exit: new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stdout }))) };
}

describe("agents-md generate over a fleet, SIGKILL half way, resumed", { timeout: 300_000 }, () => {
  it("every repo gets its AGENTS.md, no finished repo is redone, the report matches", async () => {
    const root = mkdtempSync(join(tmpdir(), "gatehouse-fleet-kill-"));
    const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-fleet-data-"));
    const fleet = generateFleet(root, REPOS);
    const db = await openStore(parseSettings({}, { dataDir }));
    try {
      const [refresh] = await refreshCatalog(catalogStore(db), [localCatalogSource({ id: "fleet", path: root })], systemClock);
      expect(refresh).toMatchObject({ status: "ok", entities: REPOS });
    } finally {
      await db.destroy();
    }

    const firstDone: string[] = [];
    let killed = false;
    const first = generate(dataDir, (line) => {
      if (line.event === "step" && line.status === "done" && line.item) firstDone.push(line.item);
      if (!killed && firstDone.length >= REPOS / 2) {
        killed = true;
        first.kill();
      }
    });
    const firstExit = await first.exit;
    expect(firstExit.signal).toBe("SIGKILL");
    expect(firstDone.length).toBeLessThan(REPOS);
    // The file each finished repo got, by inode (AGENTS.md is replaced by rename, so a rewrite changes it).
    const inodes = new Map(firstDone.map((item) => [item, statSync(join(item, "AGENTS.md")).ino]));

    const secondDone: string[] = [];
    const second = generate(dataDir, (line) => {
      if (line.event === "step" && line.status === "done" && line.item) secondDone.push(line.item);
    });
    const secondExit = await second.exit;
    expect(secondExit.code).toBe(0);
    expect(secondDone.filter((item) => inodes.has(item))).toEqual([]);
    expect([...firstDone, ...secondDone].sort()).toEqual(fleet.map((r) => join(root, r.name)).sort());
    for (const [item, ino] of inodes) expect(statSync(join(item, "AGENTS.md")).ino).toBe(ino);

    const report = JSON.parse(secondExit.stdout) as { counts: Record<string, number>; steps: { item: string; status: string }[] };
    expect(report.counts).toEqual({ pending: 0, running: 0, done: REPOS, failed: 0, skipped: 0 });
    for (const repo of fleet) {
      const text = readFileSync(join(root, repo.name, "AGENTS.md"), "utf8");
      expect(text).toContain(`owned by \`${repo.owner}\``);
      for (const command of repo.commands) expect(text).toContain(`\`${command}\``);
    }
  });
});
