import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("ledger")
    // The request id is the key: a row written twice (retry, second instance) is one row.
    .addColumn("request_id", "text", (col) => col.primaryKey())
    .addColumn("ts", "bigint", (col) => col.notNull())
    .addColumn("day", "text", (col) => col.notNull())
    .addColumn("caller_id", "text", (col) => col.notNull())
    .addColumn("team", "text")
    .addColumn("provider", "text", (col) => col.notNull())
    .addColumn("model", "text", (col) => col.notNull())
    .addColumn("endpoint", "text", (col) => col.notNull())
    .addColumn("streamed", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("status", "integer", (col) => col.notNull())
    .addColumn("outcome", "text", (col) => col.notNull())
    .addColumn("input_tokens", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("output_tokens", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("cache_read_tokens", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("cache_write_5m_tokens", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("cache_write_1h_tokens", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("reasoning_tokens", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("cost_usd", "double precision", (col) => col.notNull().defaultTo(0))
    .addColumn("unpriced", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("upstream_latency_ms", "double precision")
    .addColumn("ttfb_ms", "double precision")
    .addColumn("duration_ms", "double precision", (col) => col.notNull())
    .addColumn("error_code", "text")
    .addColumn("requested_model", "text")
    .addColumn("attempts", "integer", (col) => col.notNull().defaultTo(1))
    .execute();
  await db.schema.createIndex("ledger_day_idx").on("ledger").columns(["day", "provider", "model"]).execute();
  await db.schema.createIndex("ledger_caller_idx").on("ledger").columns(["caller_id", "ts"]).execute();
}
