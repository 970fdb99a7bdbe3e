import type { Kysely, Migration } from "kysely";
import * as ledger from "./001_ledger.ts";

/**
 * The one migration list, applied in key order on every dialect. Append; never edit a
 * migration that has shipped.
 */
export const migrations: Record<string, Migration> = {
  "001_ledger": { up: (db: Kysely<unknown>) => ledger.up(db) },
};
