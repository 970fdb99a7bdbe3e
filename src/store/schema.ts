/**
 * The database as Kysely sees it. Every capability queries through this type with
 * portable SQL, so SQLite, PostgreSQL and D1 run the same code. Add a table here and a
 * migration in migrations/ together.
 */
export interface Database {
  ledger: LedgerTable;
}

export type StreamOutcome = "completed" | "client_aborted" | "upstream_failed" | "not_forwarded";

export interface LedgerTable {
  request_id: string;
  /** Milliseconds since the epoch when the request arrived. */
  ts: number;
  /** UTC day, YYYY-MM-DD, for cheap grouping. */
  day: string;
  caller_id: string;
  team: string | null;
  provider: string;
  model: string;
  endpoint: string;
  streamed: number;
  status: number;
  outcome: StreamOutcome;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_5m_tokens: number;
  cache_write_1h_tokens: number;
  reasoning_tokens: number;
  cost_usd: number;
  /** True when the model had no price in the catalog or overrides. */
  unpriced: number;
  upstream_latency_ms: number | null;
  ttfb_ms: number | null;
  duration_ms: number;
  error_code: string | null;
}
