import { execFile } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { migrateToLatest } from "../../store/index.ts";
import { openSqlite } from "./sqlite.ts";

const run = promisify(execFile);
const root = new URL("../../..", import.meta.url).pathname;
// Root writes through any mode bits: the gateway runs as `nobody` then, as an operator's service user would.
const serviceUser: { uid: number; gid: number } | undefined = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;

/** `gatehouse serve` on `dataDir`; resolves with its exit code and output (it must not start). */
async function serve(dataDir: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["bin/gatehouse.js", "serve", "--port", "0", "--data-dir", dataDir], {
      cwd: root,
      env: { ...process.env, HOME: tmpdir(), GATEHOUSE_LOG_LEVEL: "warn", GATEHOUSE_CATALOG_REFRESH_MS: "0", GATEHOUSE_DEV_TOKEN: "faults_test_token_0123456789" },
      timeout: 30_000,
      ...(serviceUser ?? {}),
    });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; killed?: boolean };
    if (e.killed) throw new Error(`gatehouse serve kept running on an unwritable data dir:\n${e.stderr ?? ""}`);
    return { code: typeof e.code === "number" ? e.code : -1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

/** A data dir with a migrated store in it, as a previous run leaves it. */
async function populatedDataDir(): Promise<string> {
  const parent = mkdtempSync(join(tmpdir(), "gatehouse-ro-"));
  chmodSync(parent, 0o755);
  const dataDir = join(parent, "data");
  mkdirSync(dataDir);
  const db = openSqlite(join(dataDir, "gatehouse.db"));
  await migrateToLatest(db);
  await db.destroy();
  return dataDir;
}

describe("refusing to start on storage it cannot write", { timeout: 60_000 }, () => {
  it("a read-only data dir: exits 1 with what to do, before listening", async () => {
    const dataDir = await populatedDataDir();
    chmodSync(join(dataDir, "gatehouse.db"), 0o444);
    chmodSync(dataDir, 0o555);
    const { code, output } = await serve(dataDir);
    expect(code).toBe(1);
    expect(output).toContain(`The data directory ${dataDir} is not writable (EACCES)`);
    expect(output).toMatch(/GATEHOUSE_DATA_DIR/);
    expect(output).not.toMatch(/listening/);
  });

  it("a writable data dir holding a read-only store file: exits 1 naming the store", async () => {
    const dataDir = await populatedDataDir();
    // The service user owns its data dir (the gateway makes it private, 0700); the store file is not its to write.
    if (serviceUser) chownSync(dataDir, serviceUser.uid, serviceUser.gid);
    chmodSync(dataDir, 0o700);
    chmodSync(join(dataDir, "gatehouse.db"), 0o444);
    const { code, output } = await serve(dataDir);
    expect(code).toBe(1);
    expect(output).toMatch(/The store \(.*gatehouse\.db\) is not writable/);
    expect(output).not.toMatch(/listening/);
  });
});
