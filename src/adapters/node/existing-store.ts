import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { Kysely } from "kysely";
import type { Settings } from "../../core/settings.ts";
import type { Database } from "../../store/index.ts";
import { openStore, sqliteFile } from "./server.ts";

/**
 * The store for commands that read (and at most append an audit row): `usage`, `mcp audit`,
 * `identity resolve|audit`, `token list|revoke`. Unlike `openStore` it never creates the
 * SQLite file: a mistyped `--data-dir` would otherwise get a fresh empty database and the
 * command would answer "no usage" as if that were true.
 */
export async function openExistingStore(settings: Settings): Promise<Kysely<Database>> {
  if (!settings.databaseUrl) {
    const file = resolve(sqliteFile(settings));
    const kind = fileKind(file);
    if (kind !== "file") {
      throw new Error(
        `${kind === "missing" ? "no Gatehouse database at" : "not a database file:"} ${file}. ` +
          `Point --data-dir (or GATEHOUSE_DATA_DIR) at the data directory the gateway runs with (\`gatehouse serve --data-dir …\`, default ./.gatehouse), ` +
          `or set DATABASE_URL when the gateway uses PostgreSQL. Nothing was created.`,
      );
    }
  }
  return openStore(settings);
}

function fileKind(file: string): "file" | "missing" | "other" {
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat) return "missing";
  return stat.isFile() ? "file" : "other";
}
