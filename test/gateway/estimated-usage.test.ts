import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { preloadTokenizers } from "../../src/usage/estimate/index.ts";
import { usageSummary } from "../../src/ledger/index.ts";
import { formatUsage } from "../../src/cli/commands/usage.ts";
import { totals } from "../../src/dashboard/queries.ts";
import { CLIENT_TOKEN, ledgerRows, readChunks, snapshotCost, startHarness, type Harness, rowWhenWritten } from "./harness.ts";

/**
 * Issue 11 item 2: a stream that ends without the provider's usage is not free. The fake
 * upstream is told the real usage it would report at the end; the stream is cut before
 * that (client abort, upstream break), and the ledger must hold the gateway's own count,
 * marked estimated, priced, and settled against the budget.
 */
let h: Harness;
beforeAll(async () => {
  await preloadTokenizers();
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.fake.reset();
});

// ~5,000 o200k tokens of prompt: big enough that a missing count is visible in dollars.
const PROMPT = "The quick brown fox jumps over the lazy dog. ".repeat(500);
const PROMPT_TOKENS = countTokens(PROMPT);
const gpt5 = snapshotCost("openai", "gpt-5");

const rowFor = (requestId: string) => rowWhenWritten(h, requestId);

function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${h.gateway.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}` },
    body: JSON.stringify(body),
  });
}

const chatBody = (extra: Record<string, unknown> = {}) => ({ model: "gpt-5", stream: true, max_tokens: 16, messages: [{ role: "user", content: PROMPT }], ...extra });
const responsesBody = () => ({ model: "gpt-5", stream: true, max_output_tokens: 16, input: PROMPT });

/** Reads `chunks` reads of the stream, then goes away. */
async function abortAfter(res: Response, chunks: number): Promise<string> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let seen = "";
  for (let i = 0; i < chunks; i++) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return seen;
}

const routes = [
  { name: "openai chat", path: "/openai/v1/chat/completions", body: chatBody },
  { name: "openai responses", path: "/openai/v1/responses", body: responsesBody },
] as const;

describe.each(routes)("$name stream without the provider's usage", ({ path, body }) => {
  it("a client abort settles a non-zero estimated cost from the prompt and the relayed deltas", async () => {
    h.fake.enqueue({ usage: { input: PROMPT_TOKENS, output: 4000 }, endless: true, chunkDelayMs: 10 });
    const res = await post(path, body());
    expect(res.status).toBe(200);
    const requestId = res.headers.get("x-gatehouse-request-id") as string;
    await abortAfter(res, 6);
    const row = await rowFor(requestId);
    expect(row).toMatchObject({ outcome: "client_aborted", estimated: 1 });
    // The prompt counted with the model's own tokenizer: within 2% of what the provider reports.
    expect(Math.abs(row.input_tokens - PROMPT_TOKENS) / PROMPT_TOKENS).toBeLessThan(0.02);
    expect(row.output_tokens).toBeGreaterThan(0);
    expect(row.cost_usd).toBeGreaterThanOrEqual(((PROMPT_TOKENS * gpt5.input) / 1e6) * 0.98);
  });

  it("an upstream that breaks mid-stream settles the estimate too", async () => {
    h.fake.enqueue({ usage: { input: PROMPT_TOKENS, output: 20 }, chunks: 10, failAfterEvents: 6 });
    const res = await post(path, body());
    const requestId = res.headers.get("x-gatehouse-request-id") as string;
    await readChunks(res);
    const row = await rowFor(requestId);
    expect(row).toMatchObject({ outcome: "upstream_failed", error_code: "upstream_stream_broken", estimated: 1 });
    expect(Math.abs(row.input_tokens - PROMPT_TOKENS) / PROMPT_TOKENS).toBeLessThan(0.02);
    // Each delta is one word ("word3 ") the client saw: at least one token each.
    expect(row.output_tokens).toBeGreaterThanOrEqual(2);
    expect(row.cost_usd).toBeGreaterThan(0);
  });

  it("a complete stream keeps the provider's exact usage and is not marked estimated", async () => {
    h.fake.enqueue({ usage: { input: 1234, output: 56 }, chunks: 3 });
    const res = await post(path, body());
    const requestId = res.headers.get("x-gatehouse-request-id") as string;
    await readChunks(res);
    const row = await rowFor(requestId);
    expect(row).toMatchObject({ outcome: "completed", estimated: 0, input_tokens: 1234, output_tokens: 56 });
  });
});

describe("Anthropic and Gemini streams cut early", () => {
  const anthropicHeaders = { "x-api-key": CLIENT_TOKEN, "anthropic-version": "2023-06-01" };
  const anthropicBody = { model: "claude-sonnet-4-5", max_tokens: 100, stream: true, messages: [{ role: "user", content: PROMPT }] };
  const geminiPath = "/google-ai-studio/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
  const geminiBody = { contents: [{ role: "user", parts: [{ text: PROMPT }] }] };

  async function send(path: string, body: unknown, headers: Record<string, string>) {
    const res = await fetch(`${h.gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    await res.arrayBuffer();
    return rowFor(res.headers.get("x-gatehouse-request-id") as string);
  }

  it("Anthropic cut before message_start: the prompt is counted from the body (o200k x 1.2)", async () => {
    h.fake.enqueue({ usage: { input: 6000, output: 50 }, chunks: 5, failAfterEvents: 0 });
    const row = await send("/anthropic/v1/messages", anthropicBody, anthropicHeaders);
    expect(row).toMatchObject({ outcome: "upstream_failed", estimated: 1 });
    expect(row.input_tokens).toBeGreaterThanOrEqual(Math.floor(PROMPT_TOKENS * 1.2));
    expect(row.cost_usd).toBeGreaterThan(0);
  });

  it("Anthropic cut after message_start keeps its exact input; the output is counted from the deltas", async () => {
    h.fake.enqueue({ usage: { input: 6000, output: 500 }, chunks: 5, failAfterEvents: 5 });
    const row = await send("/anthropic/v1/messages", anthropicBody, anthropicHeaders);
    expect(row).toMatchObject({ outcome: "upstream_failed", estimated: 1, input_tokens: 6000 });
    expect(row.output_tokens).toBeGreaterThanOrEqual(2);
  });

  it("Gemini cut before its first chunk counts the prompt; cut later it keeps the running counts", async () => {
    h.fake.enqueue({ usage: { input: 6000, output: 40 }, chunks: 5, failAfterEvents: 0 });
    const early = await send(geminiPath, geminiBody, { "x-goog-api-key": CLIENT_TOKEN });
    expect(early).toMatchObject({ estimated: 1 });
    expect(early.input_tokens).toBeGreaterThanOrEqual(Math.floor(PROMPT_TOKENS * 1.1));
    h.fake.enqueue({ usage: { input: 6000, output: 40 }, chunks: 5, failAfterEvents: 3 });
    const later = await send(geminiPath, geminiBody, { "x-goog-api-key": CLIENT_TOKEN });
    expect(later).toMatchObject({ estimated: 1, input_tokens: 6000 });
    expect(later.output_tokens).toBeGreaterThan(0);
  });
});

describe("estimated spend is shown apart", () => {
  it("in `gatehouse usage` and the dashboard totals", async () => {
    h.fake.enqueue({ usage: { input: PROMPT_TOKENS, output: 4000 }, endless: true, chunkDelayMs: 10 });
    const res = await post("/openai/v1/chat/completions", chatBody());
    const requestId = res.headers.get("x-gatehouse-request-id") as string;
    await abortAfter(res, 3);
    const row = await rowFor(requestId);
    const db = h.gateway.deps.db;
    const all = await ledgerRows(h);
    const expected = all.filter((r) => r.estimated === 1).reduce((sum, r) => sum + r.cost_usd, 0);
    expect(expected).toBeGreaterThanOrEqual(row.cost_usd);
    const [summary] = await usageSummary(db, { groupBy: [] });
    expect(summary?.estimatedRequests).toBe(all.filter((r) => r.estimated === 1).length);
    expect(summary?.estimatedUsd).toBeCloseTo(expected, 9);
    expect(summary?.costUsd).toBeGreaterThan(summary?.estimatedUsd ?? Infinity);
    const table = formatUsage(await usageSummary(db, { groupBy: ["provider"] }), ["provider"], "table");
    expect(table).toContain("estimated_usd");
    expect(table).toMatch(/of which \$\d+\.\d{4} estimated over \d+ requests whose usage the provider never sent/);
    const day = new Date().toISOString().slice(0, 10);
    const dash = await totals(db, { from: day, to: day });
    expect(dash.estimatedUsd).toBeCloseTo(expected, 9);
  });
});

describe("the budget sees estimated spend", () => {
  let budgeted: Harness;
  beforeAll(async () => {
    budgeted = await startHarness({}, {}, ["policy:", "  groups:", "    dev:", '      models: ["openai/*"]', "      budget: { perUser: { dailyUsd: 0.075 } }"]);
  });
  afterAll(async () => {
    await budgeted.close();
  });

  it("aborted chat streams use up a budget instead of being released at $0", async () => {
    // Each request reserves its worst case (~$0.028: 1 token per body byte) against a $0.075
    // daily budget; each aborted stream settles ~$0.006 of prompt. With the aborts counted
    // the budget is spent after about eight; released at $0 it never would be.
    const previous = h;
    h = budgeted;
    const costs: number[] = [];
    let denied: Response | undefined;
    for (let i = 0; i < 12 && !denied; i++) {
      h.fake.enqueue({ usage: { input: PROMPT_TOKENS, output: 4000 }, endless: true, chunkDelayMs: 10 });
      const res = await post(
        "/openai/v1/chat/completions",
        chatBody({
          messages: [
            { role: "user", content: PROMPT },
            { role: "user", content: `turn ${i}` },
          ],
        }),
      );
      if (res.status === 429) {
        denied = res;
        break;
      }
      expect(res.status).toBe(200);
      const requestId = res.headers.get("x-gatehouse-request-id") as string;
      await abortAfter(res, 3);
      const row = await rowFor(requestId);
      expect(row.estimated).toBe(1);
      costs.push(row.cost_usd);
    }
    expect(denied?.status).toBe(429);
    const body = (await denied?.json()) as { error: { code: string } };
    expect(body.error.code).toBe("budget_exceeded");
    expect(costs.length).toBeGreaterThan(0);
    expect(costs.every((c) => c > 0)).toBe(true);
    h = previous;
  });
});
