/**
 * Helpers for the fake-upstream tests. SSE is parsed with eventsource-parser (a WHATWG
 * spec implementation, independent of Gatehouse's own src/usage/sse.ts) so the fake is
 * checked against the standard, not against our reader.
 */
import { createParser } from "eventsource-parser";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { startFakeUpstream } from "./index.ts";
import type { FakeUpstream } from "./types.ts";

export interface SseMessage {
  event: string | undefined;
  data: string;
}

export function parseSse(text: string): SseMessage[] {
  const messages: SseMessage[] = [];
  const parser = createParser({ onEvent: (message) => messages.push({ event: message.event, data: message.data }) });
  parser.feed(text);
  return messages;
}

export const json = (text: string): unknown => JSON.parse(text);

export async function post(fake: FakeUpstream, path: string, body: unknown, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
  return fetch(`${fake.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

export const anthropicHeaders = (fake: FakeUpstream): Record<string, string> => ({ "x-api-key": fake.keys.anthropic, "anthropic-version": "2023-06-01" });
export const openAiHeaders = (fake: FakeUpstream): Record<string, string> => ({ authorization: `Bearer ${fake.keys.openai}` });
export const googleHeaders = (fake: FakeUpstream): Record<string, string> => ({ "x-goog-api-key": fake.keys.google });

/** Starts one fake for the test file, resets it before each test, closes it after; returns a getter. */
export function useFakeUpstream(): () => FakeUpstream {
  let fake: FakeUpstream | undefined;
  beforeAll(async () => {
    fake = await startFakeUpstream();
  });
  afterAll(async () => {
    await fake?.close();
  });
  beforeEach(() => fake?.reset());
  return () => {
    if (!fake) throw new Error("the fake upstream has not started");
    return fake;
  };
}
