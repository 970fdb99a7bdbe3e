import { beforeEach, describe, expect, it, vi } from "vitest";
import { systemClock } from "../core/clock.ts";
import { silentLogger } from "../core/logger.ts";
import type { LedgerRow } from "../ledger/index.ts";
import { providerById, type RequestShape } from "../providers/index.ts";

/**
 * The tokenizers (~55 MB of RSS for o200k_base, ~40 MB for cl100k_base) are loaded only for
 * requests that may need an estimate: never for an answer that carries its usage, and only
 * the encoding the request's model counts with. Fresh modules per test: nothing loaded yet.
 */
async function fresh() {
  vi.resetModules();
  const metering = await import("./metering.ts");
  const estimate = await import("../usage/estimate/index.ts");
  return { ...metering, ...estimate };
}

function tap(m: Awaited<ReturnType<typeof fresh>>, shape: RequestShape) {
  const rows: LedgerRow[] = [];
  const record = {
    requestId: "r1",
    ts: Date.now(),
    startedAt: systemClock.monotonic(),
    caller: { id: "c", email: undefined, groups: [], team: undefined, tokenId: undefined },
    provider: providerById("openai"),
    clock: systemClock,
    client: { client: "other" as const, clientVersion: null, sessionId: null },
  };
  const body = { model: shape.model, stream: shape.streaming, messages: [{ role: "user", content: "Count me." }] };
  const services = { pricer: () => 0, logger: silentLogger };
  const t = m.createMeteringTap(record, { shape, attempt: 1, requestedModel: shape.model, request: { body, bytes: 64 }, serverAddress: "127.0.0.1" }, services, { ended: (end) => void (end.row && rows.push(end.row)) });
  return { tap: t, rows };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 100));
const answer = JSON.stringify({ id: "x", object: "chat.completion", model: "gpt-5", choices: [{ index: 0, message: { role: "assistant", content: "Hi." }, finish_reason: "stop" }], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } });

describe("metering loads tokenizers only when an estimate may come", () => {
  beforeEach(() => {
    vi.resetModules();
  });

  it("a JSON answer with its usage loads no encoding", async () => {
    const m = await fresh();
    const { tap: t, rows } = tap(m, { format: "openai-chat", model: "gpt-5", streaming: false, endpoint: "chat", metered: true });
    t.onResponse(200);
    t.onChunk(new TextEncoder().encode(answer));
    t.onEnd("completed");
    expect(rows[0]).toMatchObject({ estimated: 0, input_tokens: 9, output_tokens: 2 });
    await settle();
    expect(m.tokenizerLoaded("o200k_base")).toBe(false);
    expect(m.tokenizerLoaded("cl100k_base")).toBe(false);
  });

  it("a streamed request loads its model's encoding while it runs, and only that one", async () => {
    const m = await fresh();
    tap(m, { format: "openai-chat", model: "gpt-4-0613", streaming: true, endpoint: "chat", metered: true });
    await vi.waitFor(() => expect(m.tokenizerLoaded("cl100k_base")).toBe(true), { timeout: 20_000, interval: 20 });
    expect(m.tokenizerLoaded("o200k_base")).toBe(false);
  });

  it("a JSON answer without usage is still estimated (its first count loads the encoding)", async () => {
    const m = await fresh();
    const { tap: t, rows } = tap(m, { format: "openai-chat", model: "gpt-5", streaming: false, endpoint: "chat", metered: true });
    t.onResponse(200);
    t.onChunk(new TextEncoder().encode(JSON.stringify({ id: "x", object: "chat.completion", model: "gpt-5", choices: [{ index: 0, message: { role: "assistant", content: "Hi there." }, finish_reason: "stop" }] })));
    t.onEnd("completed");
    expect(rows[0]).toMatchObject({ estimated: 1 });
    expect(rows[0]?.input_tokens).toBeGreaterThan(0);
    await vi.waitFor(() => expect(m.tokenizerLoaded("o200k_base")).toBe(true), { timeout: 20_000, interval: 20 });
  });
});
