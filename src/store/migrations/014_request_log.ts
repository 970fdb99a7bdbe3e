import type { Kysely } from "kysely";

/**
 * The request log (docs/dashboard.md#request-log).
 *
 * `captured_bodies`: request and response bodies of the requests an organisation chose to
 * capture (`bodyCapture` in the org config; off by default), one row per request, keyed by
 * the ledger's request id. Stored already redacted and cut to the configured size; `ts` is
 * the request's arrival (the ledger's `ts`) and what the retention deletes by.
 *
 * `ledger_ts_idx`: the request log lists the ledger newest first and pages by the key
 * (ts, request_id), not by OFFSET; this index serves that order without a sort.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("captured_bodies")
    .addColumn("request_id", "text", (col) => col.primaryKey())
    .addColumn("ts", "bigint", (col) => col.notNull())
    // NULL: the request had no body (or it was not text); see request_note.
    .addColumn("request_body", "text")
    // Bytes the client sent, whether or not all were kept.
    .addColumn("request_bytes", "bigint", (col) => col.notNull().defaultTo(0))
    .addColumn("request_truncated", "integer", (col) => col.notNull().defaultTo(0))
    .addColumn("response_body", "text")
    .addColumn("response_bytes", "bigint", (col) => col.notNull().defaultTo(0))
    .addColumn("response_truncated", "integer", (col) => col.notNull().defaultTo(0))
    // Why a body is not shown ("binary", "no body"), else NULL.
    .addColumn("request_note", "text")
    .addColumn("response_note", "text")
    // How many values redaction replaced in both bodies.
    .addColumn("redactions", "integer", (col) => col.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex("captured_bodies_ts_idx").on("captured_bodies").columns(["ts"]).execute();
  await db.schema.createIndex("ledger_ts_idx").on("ledger").columns(["ts", "request_id"]).execute();
}
