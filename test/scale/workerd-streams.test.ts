import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/index.ts";
import { startLocalWorker, type LocalWorker } from "./workerd.ts";

/**
 * Issue 11 items 2 and 3 on Workers: the worker in workerd (Miniflare) ends a stalled
 * upstream stream with the provider's error event within the idle timeout, and a stream
 * cut before its usage is recorded in D1 with the gateway's own (estimated) count.
 */
const TOKEN = "gh_workerd_token_0123456789abcdef";
const OPENAI_KEY = "sk-openai-workerd-key-002";
const IDLE_MS = 1000;

let fake: FakeUpstream;
let worker: LocalWorker;

beforeAll(async () => {
  fake = await startFakeUpstream({ keys: { openai: OPENAI_KEY } });
  worker = await startLocalWorker({
    GATEHOUSE_AUTH_MODE: "dev",
    GATEHOUSE_ALLOW_DEV_AUTH: "true",
    GATEHOUSE_DEV_TOKEN: TOKEN,
    GATEHOUSE_LOG_LEVEL: "warn",
    GATEHOUSE_CATALOG_REFRESH_MS: "0",
    GATEHOUSE_UPSTREAM_IDLE_TIMEOUT_MS: String(IDLE_MS),
    OPENAI_API_KEY: OPENAI_KEY,
    GATEHOUSE_ORG_CONFIG: JSON.stringify({ providers: { openai: { upstream: `${fake.url}/v1` } } }),
  });
}, 120_000);

afterAll(async () => {
  await worker?.close();
  await fake?.close();
});

function chat(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${worker.url}/openai/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function ledgerRow(requestId: string) {
  const db = await worker.mf.getD1Database("DB");
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    const row = await db.prepare("select * from ledger where request_id = ?").bind(requestId).first<Record<string, unknown>>();
    if (row) return row;
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

const PROMPT = "The quick brown fox jumps over the lazy dog. ".repeat(200);

describe("streams on Workers", { timeout: 120_000 }, () => {
  it("a stalled upstream ends with the provider's error event within the idle timeout, with an estimated row", async () => {
    fake.enqueue({ usage: { input: 2000, output: 30 }, chunks: 3, chunkDelayMs: 120_000 });
    const started = performance.now();
    const res = await chat({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: PROMPT }] });
    expect(res.status).toBe(200);
    const text = await res.text();
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(took).toBeLessThan(30_000);
    expect(text).toContain(`sent nothing for ${IDLE_MS} ms`);
    const row = await ledgerRow(res.headers.get("x-gatehouse-request-id") as string);
    expect(row).toMatchObject({ outcome: "upstream_failed", error_code: "upstream_idle_timeout", estimated: 1 });
    // Counted from the prompt with o200k_base in workerd too, plus 6 framing tokens (the byte
    // fallback would say ~2,570).
    expect(Number(row?.["input_tokens"])).toBe(countTokens(PROMPT) + 6);
    expect(Number(row?.["cost_usd"])).toBeGreaterThan(0);
  });

  it("a client abort before the usage chunk is recorded with an estimated, priced row", async () => {
    fake.enqueue({ usage: { input: 2000, output: 4000 }, endless: true, chunkDelayMs: 20 });
    const res = await chat({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: PROMPT }] });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    const row = await ledgerRow(res.headers.get("x-gatehouse-request-id") as string);
    expect(row).toMatchObject({ outcome: "client_aborted", estimated: 1 });
    expect(Number(row?.["input_tokens"])).toBeGreaterThan(1900);
    expect(Number(row?.["cost_usd"])).toBeGreaterThan(0);
  });
});
