import {
  CompiledQuery,
  sql,
  SqliteAdapter,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type DatabaseMetadata,
  type DatabaseMetadataOptions,
  type SchemaMetadata,
  type TableMetadata,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from "kysely";
import { kyselyLedgerInsert, type LedgerInsert } from "../../ledger/index.ts";
import type { Database } from "../../store/index.ts";
import type { D1Database } from "./bindings.ts";

/** D1's limit on values bound to one statement (Cloudflare's D1 limits page); more fails with "too many SQL variables". */
export const D1_MAX_BOUND_PARAMETERS = 100;

/** The ledger's insert on D1: the portable one, with statements small enough for D1's bound-parameter limit. */
export function d1LedgerInsert(db: Kysely<Database>, batchSize: number): LedgerInsert {
  return kyselyLedgerInsert(db, batchSize, D1_MAX_BOUND_PARAMETERS);
}

/**
 * Kysely over Cloudflare D1: D1 speaks SQLite, so the SQLite compiler and adapter apply
 * and only the connection is D1's. D1 has no interactive transactions (each statement is
 * its own), so `transaction()` is refused loudly instead of pretending; the store's
 * migrations do not need one (SQLite DDL runs outside transactions in Kysely's migrator).
 */
export class D1Dialect implements Dialect {
  constructor(private readonly database: D1Database) {}

  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }

  createDriver(): Driver {
    return new D1Driver(this.database);
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new D1Introspector(db);
  }
}

class D1Driver implements Driver {
  constructor(private readonly database: D1Database) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new D1Connection(this.database);
  }

  async beginTransaction(): Promise<void> {
    throw new Error("D1 has no interactive transactions; use single statements (or D1 batch) on Workers.");
  }

  async commitTransaction(): Promise<void> {
    throw new Error("D1 has no interactive transactions.");
  }

  async rollbackTransaction(): Promise<void> {
    throw new Error("D1 has no interactive transactions.");
  }

  async releaseConnection(): Promise<void> {}

  async destroy(): Promise<void> {}
}

class D1Connection implements DatabaseConnection {
  constructor(private readonly database: D1Database) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.database
      .prepare(compiled.sql)
      .bind(...compiled.parameters.map(toD1Value))
      .all<R>();
    if (!result.success) throw new Error("D1 query failed");
    const changes = result.meta.changes;
    const lastId = result.meta.last_row_id;
    return {
      rows: result.results ?? [],
      ...(changes !== undefined && changes > 0 ? { numAffectedRows: BigInt(changes) } : {}),
      ...(lastId !== undefined && lastId > 0 ? { insertId: BigInt(lastId) } : {}),
    };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("D1 does not stream query results.");
  }
}

/** D1 binds null, numbers, strings and ArrayBuffers; booleans become 0/1 as SQLite stores them. */
function toD1Value(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "bigint") return Number(value);
  return value;
}

/**
 * Kysely's SQLite introspector reads `pragma_table_info` of every table, and D1 refuses
 * that for its own `_cf_*` tables, which breaks the migrator. Same answers, minus those.
 */
class D1Introspector implements DatabaseIntrospector {
  constructor(private readonly db: Kysely<unknown>) {}

  async getSchemas(): Promise<SchemaMetadata[]> {
    return [];
  }

  async getTables(options: DatabaseMetadataOptions = { withInternalKyselyTables: false }): Promise<TableMetadata[]> {
    const tables = await sql<{ name: string; type: string }>`select name, type from sqlite_master where type in ('table', 'view') and name not like 'sqlite_%' and substr(name, 1, 4) <> '_cf_' order by name`.execute(this.db);
    const out: TableMetadata[] = [];
    for (const table of tables.rows) {
      if (!options.withInternalKyselyTables && (table.name === "kysely_migration" || table.name === "kysely_migration_lock")) continue;
      const columns = await sql<{ name: string; type: string; notnull: number; dflt_value: unknown }>`select name, type, "notnull", dflt_value from pragma_table_info(${table.name})`.execute(this.db);
      out.push({
        name: table.name,
        isView: table.type === "view",
        columns: columns.rows.map((c) => ({ name: c.name, dataType: c.type, isNullable: !c.notnull, isAutoIncrementing: false, hasDefaultValue: c.dflt_value != null })),
      });
    }
    return out;
  }

  async getMetadata(options?: DatabaseMetadataOptions): Promise<DatabaseMetadata> {
    return { tables: await this.getTables(options) };
  }
}
