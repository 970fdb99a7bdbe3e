import type { Kysely } from "kysely";
import type { LedgerRow } from "../../src/ledger/index.ts";
import type { Database } from "../../src/store/index.ts";
import { ledgerRow } from "../support/policy.ts";

/** Two service accounts; their ids are the caller ids of their ledger rows. */
export const SERVICE_ACCOUNTS = [
  { id: "5a000000-0000-4000-8000-00000000c1c1", name: "ci-reviewer" },
  { id: "5a000000-0000-4000-8000-00000000ba7c", name: "batch-job" },
];

/** Values a client or upstream controls, written to be read as markup if anything forgot to escape. */
export const HOSTILE = {
  model: `<script>alert("model")</script>'"`,
  errorCode: `"><img src=x onerror=alert(1)>`,
  team: `<b onmouseover=alert(2)>team</b>`,
  callerId: `"><svg onload=alert(3)>`,
  endpoint: `</td><script>alert(4)</script>`,
  /** What the ledger keeps of an unknown user agent: its first product token. */
  clientVersion: `<script>alert(5)</script>/"'1`,
  sessionId: `"><iframe src=javascript:alert(6)>`,
};

export const HOSTILE_ID = "ffffffff-0000-4000-8000-0000000bad00";
export const FALLBACK_ID = "ffffffff-0000-4000-8000-00000000fa11";
export const UNPRICED_ID = "ffffffff-0000-4000-8000-0000000000aa";
/** Rows sharing one timestamp: pages must split them by request id, not lose or repeat any. */
export const SAME_TS_COUNT = 7;

/**
 * Rows the request log must tell apart, on top of seed.ts's 600: service accounts' requests,
 * a fallback (asked for an alias, answered by another model on the second attempt), an
 * unpriced model, cache writes and reasoning tokens, rows sharing one timestamp, and a row of
 * hostile values.
 */
export async function seedRequestLog(db: Kysely<Database>, today: string): Promise<void> {
  await db.insertInto("ledger").values(requestLogRows(today)).execute();
  await db.insertInto("service_accounts").values(serviceAccountRows(today)).execute();
}

/** The service accounts' rows in `service_accounts`. */
export function serviceAccountRows(today: string) {
  const end = Date.parse(`${today}T00:00:00Z`);
  return SERVICE_ACCOUNTS.map((sa) => ({
    id: sa.id,
    name: sa.name,
    owner_group: "platform",
    scopes: JSON.stringify({ routes: ["*"], models: ["*"], mcpServers: [], metricsRead: false }),
    limits: "{}",
    created_at: end,
    created_by: "admin",
    expires_at: null,
    disabled_at: null,
  }));
}

/** The ledger rows seedRequestLog writes. */
export function requestLogRows(today: string): LedgerRow[] {
  const end = Date.parse(`${today}T00:00:00Z`);
  const rows: LedgerRow[] = [];
  const day = (ts: number) => new Date(ts).toISOString().slice(0, 10);
  for (let i = 0; i < 40; i++) {
    const sa = SERVICE_ACCOUNTS[i % 2] ?? SERVICE_ACCOUNTS[0];
    const ts = end - (i % 10) * 86_400_000 + 3_600_000 + i * 1000;
    rows.push(
      ledgerRow({
        request_id: `5a5a0000-0000-4000-8000-${String(i).padStart(12, "0")}`,
        ts,
        day: day(ts),
        caller_id: sa?.id ?? "x",
        team: "platform",
        client: "sdk",
        client_version: "openai-js/6.49.0",
        provider: "openai",
        model: "gpt-5-mini",
        requested_model: "gpt-5-mini",
        status: i % 9 === 0 ? 429 : 200,
        outcome: i % 9 === 0 ? "not_forwarded" : "completed",
        error_code: i % 9 === 0 ? "budget_exceeded" : null,
        input_tokens: 1000 + i,
        output_tokens: 100 + i,
        cost_usd: i % 9 === 0 ? 0 : 0.001 * (i + 1),
        duration_ms: 300 + i,
      }),
    );
  }
  const sameTs = end - 3 * 86_400_000 + 12 * 3_600_000;
  for (let i = 0; i < SAME_TS_COUNT; i++) {
    rows.push(
      ledgerRow({
        request_id: `7777${i}000-0000-4000-8000-000000000000`,
        ts: sameTs,
        day: day(sameTs),
        caller_id: "c0ffee00-0000-4000-8000-000000000001",
        provider: "anthropic",
        model: "claude-sonnet-4-5",
        requested_model: "claude-sonnet-4-5",
        status: 200,
        outcome: "completed",
        cost_usd: 0.01,
        duration_ms: 500,
      }),
    );
  }
  const fallbackTs = end - 86_400_000 + 5 * 3_600_000;
  rows.push(
    ledgerRow({
      request_id: FALLBACK_ID,
      ts: fallbackTs,
      day: day(fallbackTs),
      caller_id: "c0ffee00-0000-4000-8000-000000000002",
      team: "eng",
      client: "claude-code",
      client_version: "2.1.332",
      session_id: "5e55107d-0000-4000-8000-000000000001",
      provider: "anthropic",
      model: "claude-opus-4-1",
      requested_model: "smart",
      endpoint: "messages",
      streamed: 1,
      status: 200,
      outcome: "completed",
      attempts: 2,
      input_tokens: 1234,
      output_tokens: 567,
      cache_read_tokens: 8900,
      cache_write_5m_tokens: 450,
      cache_write_1h_tokens: 120,
      reasoning_tokens: 333,
      cost_usd: 0.123456,
      upstream_latency_ms: 210,
      ttfb_ms: 456,
      duration_ms: 7890,
    }),
  );
  const unpricedTs = end - 2 * 86_400_000 + 7 * 3_600_000;
  rows.push(
    ledgerRow({
      request_id: UNPRICED_ID,
      ts: unpricedTs,
      day: day(unpricedTs),
      caller_id: "c0ffee00-0000-4000-8000-000000000003",
      provider: "compat",
      model: "local-unpriced",
      requested_model: "local-unpriced",
      status: 200,
      outcome: "completed",
      input_tokens: 50,
      output_tokens: 5,
      unpriced: 1,
      duration_ms: 40,
    }),
  );
  const hostileTs = end - 86_400_000 + 9 * 3_600_000;
  rows.push(
    ledgerRow({
      request_id: HOSTILE_ID,
      ts: hostileTs,
      day: day(hostileTs),
      caller_id: HOSTILE.callerId,
      team: HOSTILE.team,
      provider: "openai",
      model: HOSTILE.model,
      requested_model: HOSTILE.model,
      endpoint: HOSTILE.endpoint,
      client: "other",
      client_version: HOSTILE.clientVersion,
      session_id: HOSTILE.sessionId,
      status: 502,
      outcome: "upstream_failed",
      error_code: HOSTILE.errorCode,
      duration_ms: 12,
    }),
  );
  return rows;
}
