import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CLIENT_TOKEN, rowWhenWritten, startHarness, type Harness } from "./harness.ts";
import { readLikeGenai, readWithEventSourceParser } from "../support/stream-clients.ts";

/**
 * Issue 12 item 2: an upstream that breaks in the middle of an event, on every streaming
 * provider route, through the real gateway: the client reads only whole events and then the
 * provider's own error (Anthropic's `event: error`, OpenAI's error chunk or Responses `error`
 * event, Gemini's bare JSON that @google/genai turns into an ApiError), and the ledger row
 * says how it ended with the usage counted or estimated (never zero for a billed prompt).
 */
const IDLE_MS = 600;
let h: Harness;
beforeAll(async () => {
  h = await startHarness({}, { GATEHOUSE_UPSTREAM_IDLE_TIMEOUT_MS: String(IDLE_MS) });
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.fake.reset();
});

const anthropicHeaders = { "x-api-key": CLIENT_TOKEN, "anthropic-version": "2023-06-01" };
const bearer = { authorization: `Bearer ${CLIENT_TOKEN}` };
const gemini = { "x-goog-api-key": CLIENT_TOKEN };
const chat = (model: string) => ({ model, stream: true, messages: [{ role: "user", content: "hi" }] });
const geminiBody = { contents: [{ role: "user", parts: [{ text: "hi" }] }] };

type ErrorCheck = (text: string, reads: string[]) => void;

const lastEventData = (text: string): unknown => JSON.parse(readWithEventSourceParser(text).events.at(-1)?.data ?? "null");
const anthropicError: ErrorCheck = (text) => {
  const events = readWithEventSourceParser(text).events;
  expect(events.at(-1)?.event).toBe("error");
  expect(lastEventData(text)).toMatchObject({ type: "error", error: { type: "api_error" } });
};
const chatError: ErrorCheck = (text) => expect(lastEventData(text)).toMatchObject({ error: { type: "server_error", code: "upstream_stream_failed" } });
const responsesError: ErrorCheck = (text) => {
  expect(readWithEventSourceParser(text).events.at(-1)?.event).toBe("error");
  expect(lastEventData(text)).toMatchObject({ type: "error", code: "upstream_stream_failed" });
};
const geminiError: ErrorCheck = (_text, reads) => {
  const outcome = readLikeGenai(reads);
  // Gemini CLI shows an ApiError; reads the network joined fail as a clean incomplete stream.
  if (outcome.kind === "error") expect(outcome.message).toBe("Incomplete JSON segment at the end");
  else expect(outcome).toMatchObject({ kind: "api_error", status: 502 });
};

const routes: Array<{ name: string; path: string; headers: Record<string, string>; body: unknown; check: ErrorCheck }> = [
  { name: "anthropic messages", path: "/anthropic/v1/messages", headers: anthropicHeaders, body: { ...chat("claude-sonnet-4-5"), max_tokens: 100 }, check: anthropicError },
  { name: "openai chat, usage asked for", path: "/openai/v1/chat/completions", headers: bearer, body: { ...chat("gpt-5"), stream_options: { include_usage: true } }, check: chatError },
  { name: "openai chat, usage not asked for (injected-usage filter)", path: "/openai/v1/chat/completions", headers: bearer, body: chat("gpt-5"), check: chatError },
  { name: "openai responses", path: "/openai/v1/responses", headers: bearer, body: { model: "gpt-5", stream: true, input: "hi" }, check: responsesError },
  { name: "gemini v1beta alt=sse", path: "/google-ai-studio/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", headers: gemini, body: geminiBody, check: geminiError },
  { name: "gemini v1 alt=sse", path: "/google-ai-studio/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse", headers: gemini, body: geminiBody, check: geminiError },
  { name: "gemini v1alpha alt=sse", path: "/google-ai-studio/v1alpha/models/gemini-2.5-flash:streamGenerateContent?alt=sse", headers: gemini, body: geminiBody, check: geminiError },
  { name: "compat chat", path: "/compat/v1/chat/completions", headers: bearer, body: chat("local-llama"), check: chatError },
  { name: "groq chat", path: "/groq/v1/chat/completions", headers: bearer, body: chat("llama-3.3-70b-versatile"), check: chatError },
];

async function readAll(res: Response): Promise<{ text: string; reads: string[] }> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const reads: string[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    reads.push(decoder.decode(value, { stream: true }));
  }
  return { text: reads.join(""), reads };
}

describe.each(routes)("an upstream cut inside an event ($name)", { timeout: 60_000 }, ({ path, headers, body, check }) => {
  const cases = [
    { how: "reset" as const, bytes: 1, failure: "upstream_stream_broken" },
    { how: "reset" as const, bytes: 25, failure: "upstream_stream_broken" },
    { how: "end" as const, bytes: 40, failure: "upstream_stream_truncated" },
    { how: "hang" as const, bytes: 12, failure: "upstream_idle_timeout" },
  ];
  it.each(cases)("$how after $bytes bytes of an event: whole events only, then the provider's error; the row says $failure", async ({ how, bytes, failure }) => {
    h.fake.enqueue({ usage: { input: 200, output: 50 }, chunks: 4, cutInsideEvent: { afterEvents: 3, bytes, how } });
    const res = await fetch(`${h.gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    const { text, reads } = await readAll(res);
    // No reader sees a truncated JSON payload: eventsource-parser, even dispatching a last unterminated event.
    expect(readWithEventSourceParser(text).broken).toEqual([]);
    check(text, reads);
    expect(text).toContain(how === "hang" ? `sent nothing for ${IDLE_MS} ms` : "the answer is incomplete");
    const row = await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") as string);
    expect(row).toMatchObject({ outcome: "upstream_failed", error_code: failure, status: 200 });
    // The prompt went out: counted from the stream or estimated, never free.
    expect(row.input_tokens).toBeGreaterThan(0);
  });
});
