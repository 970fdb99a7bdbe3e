import { sql, type Kysely } from "kysely";
import { migrateToLatest, migrations, type Database } from "../../store/index.ts";

const latest = Object.keys(migrations).sort().at(-1) ?? "";

/**
 * Brings D1 to the newest schema from a cold isolate. A warm database costs one query. Two
 * isolates starting at once may race on a `create table` (D1 has no migration lock): the
 * loser fails, waits, and retries, and then finds the migrations recorded by the winner.
 */
export async function migrateD1(db: Kysely<Database>): Promise<void> {
  if (await isCurrent(db)) return;
  let lastError: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      await migrateToLatest(db);
      return;
    } catch (err) {
      lastError = err;
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      if (await isCurrent(db)) return;
    }
  }
  throw new Error("D1 migrations did not complete", { cause: lastError });
}

async function isCurrent(db: Kysely<Database>): Promise<boolean> {
  try {
    const row = await sql<{ name: string }>`select name from kysely_migration order by name desc limit 1`.execute(db);
    return row.rows[0]?.name === latest;
  } catch (err) {
    // No migration table yet: a fresh database.
    if (err instanceof Error && /no such table/i.test(err.message)) return false;
    throw err;
  }
}
