import type { Kysely } from "kysely";
import type { Database } from "../../src/store/index.ts";
import { ledgerRow } from "../support/policy.ts";
import type { LedgerRow } from "../../src/ledger/index.ts";

const MODELS: Array<[string, string, number]> = [
  ["anthropic", "claude-sonnet-4-5", 6],
  ["anthropic", "claude-opus-4-1", 2],
  ["openai", "gpt-5", 3],
  ["openai", "gpt-5-mini", 2],
  ["google-ai-studio", "gemini-2.5-pro", 2],
  ["compat", "llama-3.3-70b", 2],
];
const TEAMS = ["eng", "data", "design"];
export const CALLERS = Array.from({ length: 12 }, (_, i) => `c0ffee00-0000-4000-8000-${String(i).padStart(12, "0")}`);

/** Deterministic pseudo-random numbers, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Realistic ledger rows over the `days` days ending `today`: several providers, teams, callers, errors and denials. */
export async function seedLedger(db: Kysely<Database>, today: string, days: number, count: number): Promise<void> {
  const rows = ledgerSeedRows(today, days, count);
  const end = Date.parse(`${today}T00:00:00Z`);
  for (let i = 0; i < rows.length; i += 200)
    await db
      .insertInto("ledger")
      .values(rows.slice(i, i + 200))
      .execute();
  await db
    .insertInto("caller_groups")
    .values(CALLERS.map((caller_id, i) => ({ caller_id, group_name: TEAMS[i % TEAMS.length] ?? "eng", updated_at: end })))
    .execute();
}

/** The rows seedLedger writes (the same for the same arguments). */
export function ledgerSeedRows(today: string, days: number, count: number): LedgerRow[] {
  const rand = rng(42);
  const weighted = MODELS.flatMap(([p, m, w]) => Array.from({ length: w }, () => [p, m] as const));
  const rows: LedgerRow[] = [];
  const end = Date.parse(`${today}T00:00:00Z`);
  for (let i = 0; i < count; i++) {
    const dayOffset = Math.floor(rand() * days);
    const ts = end - dayOffset * 86_400_000 + Math.floor(rand() * 86_000_000);
    const [provider, model] = weighted[Math.floor(rand() * weighted.length)] ?? ["openai", "gpt-5"];
    const callerIndex = Math.floor(rand() * CALLERS.length);
    const kind = rand();
    const denied = kind < 0.06 ? (["rate_limited", "budget_exceeded", "forbidden"] as const)[i % 3] : kind < 0.07 ? "unauthenticated" : undefined;
    const failed = !denied && kind < 0.1;
    const input = Math.floor(rand() * 20_000);
    const output = Math.floor(rand() * 3_000);
    const cache = provider === "anthropic" ? Math.floor(rand() * 50_000) : 0;
    rows.push(
      ledgerRow({
        ts,
        day: new Date(ts).toISOString().slice(0, 10),
        caller_id: CALLERS[callerIndex] ?? "x",
        // Rows from before the gateway recorded clients have none.
        client: (["opencode", "claude-code", null] as const)[i % 3] ?? null,
        client_version: i % 3 === 2 ? null : `1.${i % 7}.0`,
        team: TEAMS[callerIndex % TEAMS.length] ?? null,
        provider,
        model,
        status: denied ? (denied === "forbidden" ? 403 : denied === "unauthenticated" ? 401 : 429) : failed ? 502 : 200,
        outcome: denied ? "not_forwarded" : failed ? "upstream_failed" : "completed",
        error_code: denied ?? (failed ? "upstream_unavailable" : null),
        input_tokens: denied ? 0 : input,
        output_tokens: denied || failed ? 0 : output,
        cache_read_tokens: denied ? 0 : cache,
        cost_usd: denied || failed ? 0 : Number(((input * 3 + output * 15 + cache * 0.3) / 1e6).toFixed(6)),
        duration_ms: denied ? 1 : 200 + Math.floor(rand() * 8000),
        ttfb_ms: denied || failed ? null : 80 + Math.floor(rand() * 900),
        upstream_latency_ms: denied ? null : 60 + Math.floor(rand() * 400),
      }),
    );
  }
  return rows;
}
