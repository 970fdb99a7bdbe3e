import type { LedgerRow } from "./writer.ts";

/** Who, when and what: the fields a ledger row cannot default. */
export type LedgerRowIdentity = Pick<LedgerRow, "request_id" | "ts" | "day" | "caller_id" | "team" | "provider" | "model" | "endpoint" | "status" | "outcome" | "duration_ms">;

/** A ledger row with no usage, cost or timings yet; the metering tap fills them in. */
export function blankLedgerRow(identity: LedgerRowIdentity): LedgerRow {
  return {
    streamed: 0,
    input_tokens: 0,
    output_tokens: 0,
    cache_read_tokens: 0,
    cache_write_5m_tokens: 0,
    cache_write_1h_tokens: 0,
    reasoning_tokens: 0,
    cost_usd: 0,
    unpriced: 0,
    upstream_latency_ms: null,
    ttfb_ms: null,
    error_code: null,
    requested_model: null,
    attempts: 1,
    estimated: 0,
    client: null,
    client_version: null,
    session_id: null,
    key_name: null,
    requested_provider: null,
    ...identity,
  };
}
