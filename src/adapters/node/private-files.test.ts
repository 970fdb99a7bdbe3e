import { mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openSqlite } from "./sqlite.ts";
import { migrateToLatest } from "../../store/index.ts";

const mode = (path: string) => statSync(path).mode & 0o777;

describe("data dir permissions", () => {
  it("creates the data dir 0700 and the database, its WAL and SHM 0600, tightening ones that existed", async () => {
    const root = mkdtempSync(join(tmpdir(), "gatehouse-perm-"));
    const fresh = join(root, "fresh", "data");
    const db = openSqlite(join(fresh, "gatehouse.db"));
    await migrateToLatest(db);
    await db.selectFrom("ledger").select("request_id").execute();
    expect(mode(fresh)).toBe(0o700);
    for (const file of ["gatehouse.db", "gatehouse.db-wal", "gatehouse.db-shm"]) expect([file, mode(join(fresh, file))]).toEqual([file, 0o600]);
    await db.destroy();

    const old = join(root, "old");
    mkdirSync(old, { mode: 0o755 });
    writeFileSync(join(old, "gatehouse.db"), "", { mode: 0o644 });
    const again = openSqlite(join(old, "gatehouse.db"));
    expect([mode(old), mode(join(old, "gatehouse.db"))]).toEqual([0o700, 0o600]);
    await again.destroy();
  });
});
