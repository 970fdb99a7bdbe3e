import { beforeAll, describe, expect, it } from "vitest";
import { createBundledCatalog } from "../catalog/index.ts";
import { ConfigHolder, orgConfigSchema } from "../config/index.ts";
import { systemClock } from "../core/clock.ts";
import { silentLogger } from "../core/logger.ts";
import type { LedgerRow } from "../ledger/index.ts";
import { providerById } from "../providers/index.ts";
import { preloadTokenizers } from "../usage/estimate/index.ts";
import { createMeteringTap, type RequestRecord } from "./metering.ts";
import { FAILURE_NOT_SENT } from "./transport.ts";

beforeAll(async () => {
  await preloadTokenizers();
});

function meter() {
  const rows: LedgerRow[] = [];
  const settled: LedgerRow[] = [];
  const record: RequestRecord = { requestId: "r1", ts: Date.now(), startedAt: systemClock.monotonic(), caller: { id: "c", email: undefined, groups: [], team: undefined, tokenId: undefined }, provider: providerById("openai"), clock: systemClock };
  const services = { catalog: createBundledCatalog(), config: new ConfigHolder(orgConfigSchema.parse({})), ledger: { record: (row: LedgerRow) => void rows.push(row) }, logger: silentLogger };
  const admission = { bodyChanged: false, settle: (row: LedgerRow) => void settled.push(row) };
  const body = { model: "gpt-5", stream: true, messages: [{ role: "user", content: "The quick brown fox jumps over the lazy dog. ".repeat(100) }] };
  const tap = createMeteringTap(record, { format: "openai-chat", model: "gpt-5", streaming: true, endpoint: "chat", metered: true }, 1, "gpt-5", admission, services, { body, bytes: JSON.stringify(body).length });
  return { tap, rows, settled };
}

describe("metering estimates", () => {
  it("a client that left after the request went out (no answer yet) is billed the prompt", () => {
    const { tap, rows, settled } = meter();
    tap.onEnd("client_aborted");
    expect(rows[0]).toMatchObject({ estimated: 1, status: 0 });
    expect(rows[0]?.input_tokens).toBeGreaterThan(1000);
    expect(settled[0]?.cost_usd).toBeGreaterThan(0);
  });

  it("an attempt never sent (the client left during a fallback) is not billed", () => {
    const { tap, rows, settled } = meter();
    tap.onEnd("client_aborted", FAILURE_NOT_SENT);
    expect(rows[0]).toMatchObject({ estimated: 0, input_tokens: 0, cost_usd: 0 });
    expect(settled[0]?.cost_usd).toBe(0);
  });

  it("an upstream error status is not billed: no generation happened", () => {
    const { tap, rows } = meter();
    tap.onResponse(429);
    tap.onChunk(new TextEncoder().encode('{"error":{"message":"slow down","type":"rate_limit_exceeded"}}'));
    tap.onEnd("completed");
    expect(rows[0]).toMatchObject({ estimated: 0, cost_usd: 0, error_code: "upstream_429" });
  });
});
