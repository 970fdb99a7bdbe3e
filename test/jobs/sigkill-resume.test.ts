import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openSqlite } from "../../src/adapters/node/sqlite.ts";
import { jobReport, jobsDb } from "../../src/jobs/index.ts";

const worker = new URL("./kill-worker.ts", import.meta.url).pathname;
const STEPS = 120;
const LEASE_MS = 1_500;

function start(args: string[]): { child: ChildProcess; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }> } {
  const child = spawn(process.execPath, ["--import", "tsx", worker, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  let stdout = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stderr, stdout })));
  return { child, exit };
}

const effectLines = (file: string): string[] =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l !== "")
    : [];

async function until(condition: () => boolean, deadlineMs: number, what: string): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("a job worker killed with SIGKILL half way", { timeout: 180_000 }, () => {
  it("resumes: finished steps are never run again, every step ends done exactly once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-jobs-kill-"));
    const dbFile = join(dir, "g.db");
    const effects = join(dir, "effects.log");
    const args = [dbFile, effects, "fleet-1", String(STEPS), String(LEASE_MS)];

    const first = start(args);
    await until(() => effectLines(effects).length >= STEPS / 2, 120_000, "half the steps");
    first.child.kill("SIGKILL");
    const killed = await first.exit;
    expect(killed.signal).toBe("SIGKILL");

    const db = openSqlite(dbFile);
    try {
      const atKill = await jobsDb(db).selectFrom("job_steps").select(["item", "status"]).where("job_id", "=", "fleet-1").execute();
      const doneAtKill = new Set(atKill.filter((s) => s.status === "done").map((s) => s.item));
      const runningAtKill = new Set(atKill.filter((s) => s.status === "running").map((s) => s.item));
      expect(doneAtKill.size).toBeGreaterThanOrEqual(STEPS / 2 - 4);
      expect(doneAtKill.size).toBeLessThan(STEPS);
      const linesAtKill = effectLines(effects).length;

      const second = start(args);
      const resumed = await second.exit;
      expect(resumed.stderr).toBe("");
      expect(resumed.code).toBe(0);

      const report = await jobReport(db, "fleet-1");
      expect(report.counts).toEqual({ pending: 0, running: 0, done: STEPS, failed: 0, skipped: 0 });
      expect(report.finished).toBe(true);
      expect(JSON.parse(resumed.stdout.trim()) as unknown).toMatchObject({ counts: { done: STEPS } });

      const lines = effectLines(effects);
      const afterKill = lines.slice(linesAtKill).map((l) => l.split(" ")[0] ?? "");
      // No step the first worker finished ran again.
      expect(afterKill.filter((item) => doneAtKill.has(item))).toEqual([]);
      const runs = new Map<string, number>();
      for (const line of lines) runs.set(line.split(" ")[0] ?? "", (runs.get(line.split(" ")[0] ?? "") ?? 0) + 1);
      expect(runs.size).toBe(STEPS);
      for (const [item, n] of runs) {
        // Only a step in flight at the kill (its effect written, its checkpoint not) may have run twice.
        if (n !== 1) expect({ item, n, inFlight: runningAtKill.has(item) }).toEqual({ item, n: 2, inFlight: true });
      }
      expect(report.totalCostUsd).toBeGreaterThanOrEqual(STEPS * 0.001 - 1e-9);
    } finally {
      await db.destroy();
    }
  });
});
