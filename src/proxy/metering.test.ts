import { beforeAll, describe, expect, it } from "vitest";
import { createBundledCatalog, createPricer } from "../catalog/index.ts";
import { ConfigHolder, orgConfigSchema } from "../config/index.ts";
import { systemClock } from "../core/clock.ts";
import { silentLogger } from "../core/logger.ts";
import type { LedgerRow } from "../ledger/index.ts";
import { providerById } from "../providers/index.ts";
import { preloadTokenizers } from "../usage/estimate/index.ts";
import { createMeteringTap, type RequestRecord } from "./metering.ts";
import type { RequestListener } from "./observer.ts";
import { FAILURE_NOT_SENT } from "./transport.ts";

beforeAll(async () => {
  await preloadTokenizers();
});

/** The tap of one attempt, and what it reported: the rows it ended with, and the attempts. */
function meter() {
  const rows: LedgerRow[] = [];
  const attempts: Array<{ status: number; model: string | undefined }> = [];
  const record: RequestRecord = {
    requestId: "r1",
    ts: Date.now(),
    startedAt: systemClock.monotonic(),
    caller: { id: "c", email: undefined, groups: [], team: undefined, tokenId: undefined },
    provider: providerById("openai"),
    clock: systemClock,
    client: { client: "codex", clientVersion: "0.171.0", sessionId: "s-1" },
  };
  const services = { pricer: createPricer(createBundledCatalog(), new ConfigHolder(orgConfigSchema.parse({}))), logger: silentLogger };
  const listener: RequestListener = {
    attempted: (a) => void attempts.push({ status: a.status, model: a.model }),
    ended: (end) => {
      if (end.row) rows.push(end.row);
    },
  };
  const body = { model: "gpt-5", stream: true, messages: [{ role: "user", content: "The quick brown fox jumps over the lazy dog. ".repeat(100) }] };
  const tap = createMeteringTap(
    record,
    { shape: { format: "openai-chat", model: "gpt-5", streaming: true, endpoint: "chat", metered: true }, attempt: 1, requestedModel: "gpt-5", request: { body, bytes: JSON.stringify(body).length }, serverAddress: "api.openai.com" },
    services,
    listener,
  );
  return { tap, rows, attempts };
}

describe("metering estimates", () => {
  it("a client that left after the request went out (no answer yet) is billed the prompt", () => {
    const { tap, rows } = meter();
    tap.onEnd("client_aborted");
    expect(rows[0]).toMatchObject({ estimated: 1, status: 0 });
    expect(rows[0]?.input_tokens).toBeGreaterThan(1000);
    expect(rows[0]?.cost_usd).toBeGreaterThan(0);
  });

  it("an attempt never sent (the client left during a fallback) is not billed", () => {
    const { tap, rows } = meter();
    tap.onEnd("client_aborted", FAILURE_NOT_SENT);
    expect(rows[0]).toMatchObject({ estimated: 0, input_tokens: 0, cost_usd: 0 });
    expect(rows).toHaveLength(1);
  });

  it("an upstream error status is not billed: no generation happened", () => {
    const { tap, rows } = meter();
    tap.onResponse(429);
    tap.onChunk(new TextEncoder().encode('{"error":{"message":"slow down","type":"rate_limit_exceeded"}}'));
    tap.onEnd("completed");
    expect(rows[0]).toMatchObject({ estimated: 0, cost_usd: 0, error_code: "upstream_429" });
  });

  it("reports the attempt when the answer starts, and ends once with the row priced by the one pricer", () => {
    const { tap, rows, attempts } = meter();
    tap.onResponse(200);
    expect(attempts).toEqual([{ status: 200, model: "gpt-5" }]);
    tap.onChunk(new TextEncoder().encode('data: {"choices":[],"usage":{"prompt_tokens":1000000,"completion_tokens":0}}\n\ndata: [DONE]\n\n'));
    tap.onEnd("completed");
    expect(rows).toHaveLength(1);
    // gpt-5 in the bundled snapshot: $1.25 per million input tokens.
    expect(rows[0]).toMatchObject({ estimated: 0, input_tokens: 1_000_000, status: 200, outcome: "completed", attempts: 1 });
    expect(rows[0]?.cost_usd).toBeCloseTo(1.25, 6);
    expect(attempts).toHaveLength(1);
  });

  it("an answer that never started still reports its attempt (status 0) before it ends", () => {
    const { tap, rows, attempts } = meter();
    tap.onEnd("upstream_failed", "upstream_reset");
    expect(attempts).toEqual([{ status: 0, model: "gpt-5" }]);
    expect(rows[0]).toMatchObject({ outcome: "upstream_failed", error_code: "upstream_reset" });
  });

  it("a client that leaves before the answer starts is not an upstream failure: no attempt reaches the breaker", () => {
    const { tap, rows, attempts } = meter();
    tap.onEnd("client_aborted");
    expect(attempts).toEqual([]);
    expect(rows[0]).toMatchObject({ outcome: "client_aborted", status: 0 });
  });
});

describe("utcDay", () => {
  it("is the UTC date of each time, across midnight both ways and across years", async () => {
    const { utcDay } = await import("./metering.ts");
    const times = [Date.UTC(2026, 11, 1, 23, 59, 59, 999), Date.UTC(2026, 11, 2), Date.UTC(2026, 11, 1, 12), Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1), 0, Date.UTC(2027, 0, 1, 0, 0, 0, 1)];
    for (const ts of times) expect(utcDay(ts)).toBe(new Date(ts).toISOString().slice(0, 10));
  });
});
