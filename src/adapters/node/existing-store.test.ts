import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDatabase, type TestDatabase } from "../../../test/scale/postgres.ts";
import { parseSettings } from "../../core/settings.ts";
import { openExistingStore } from "./existing-store.ts";
import { openPostgresStore } from "./postgres.ts";
import { openStore } from "./server.ts";

const root = mkdtempSync(join(tmpdir(), "gatehouse-existing-"));

describe("openExistingStore on SQLite", () => {
  it("a file that is not the gateway's (empty, or not SQLite) is refused and left as it was", async () => {
    const empty = join(root, "empty");
    const garbage = join(root, "garbage");
    mkdirSync(empty, { recursive: true });
    mkdirSync(garbage, { recursive: true });
    writeFileSync(join(empty, "gatehouse.db"), "");
    writeFileSync(join(garbage, "gatehouse.db"), "model,requests\ngpt-5,1\n");
    await expect(openExistingStore(parseSettings({}, { dataDir: empty }))).rejects.toThrow(`${join(empty, "gatehouse.db")} is not a Gatehouse database (no ledger table). Point --data-dir`);
    expect(statSync(join(empty, "gatehouse.db")).size).toBe(0);
    expect(readdirSync(empty)).toEqual(["gatehouse.db"]);
    await expect(openExistingStore(parseSettings({}, { dataDir: garbage }))).rejects.toThrow(`${join(garbage, "gatehouse.db")} is not a readable SQLite database`);
    expect(readdirSync(garbage)).toEqual(["gatehouse.db"]);
  });

  it("the gateway's own store opens", async () => {
    const dir = join(root, "real");
    await (await openStore(parseSettings({}, { dataDir: dir }))).destroy();
    const db = await openExistingStore(parseSettings({}, { dataDir: dir }));
    expect(
      await db
        .selectFrom("ledger")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow(),
    ).toEqual({ n: 0 });
    await db.destroy();
  });
});

// PostgreSQL: DATABASE_URL naming an empty database (the wrong one) must not get Gatehouse's tables.
describe("openExistingStore on PostgreSQL", { timeout: 120_000 }, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await startTestDatabase();
  }, 120_000);
  afterAll(async () => {
    await database?.close();
  });

  async function tables(): Promise<string[]> {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string }>("select table_name as name from information_schema.tables where table_schema = 'public' order by 1");
      return rows.map((r) => r.name);
    } finally {
      await client.end();
    }
  }

  it("an empty database is refused, named without its password, and stays empty; the gateway's opens", async () => {
    const url = new URL(database.url);
    url.password = "s3cret-pass";
    const withPassword = url.toString();
    const settings = parseSettings({ DATABASE_URL: database.url }, {});
    await expect(openExistingStore(settings)).rejects.toThrow("has no Gatehouse tables (no ledger)");
    const refused = await openExistingStore(parseSettings({ DATABASE_URL: withPassword }, {})).then(
      () => "opened",
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    );
    expect(refused).not.toContain("s3cret-pass");
    expect(refused).toContain("***");
    expect(await tables()).toEqual([]);

    await (await openPostgresStore(database.url)).destroy();
    const db = await openExistingStore(settings);
    expect(
      await db
        .selectFrom("ledger")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow(),
    ).toEqual({ n: 0 });
    await db.destroy();
  });
});
