import { describe, expect, it } from "vitest";
import { anthropicHeaders, json, parseSse, post, useFakeUpstream } from "./test-helpers.ts";
import { anthropicError, anthropicMessage, anthropicModelList, anthropicStreamEvent } from "./wire-schemas.ts";

const fake = useFakeUpstream();

const request = { model: "claude-sonnet-4-5", max_tokens: 64, messages: [{ role: "user", content: "hi" }] };
const usage = { input: 7, output: 30, cacheRead: 1000, cacheWrite5m: 200, cacheWrite1h: 50, reasoning: 0 };

describe("Anthropic POST /v1/messages", () => {
  it("answers JSON with the documented field set and input_tokens excluding cache", async () => {
    fake().enqueue({ text: "Hello!", usage });
    const response = await post(fake(), "/v1/messages", request, anthropicHeaders(fake()));
    expect(response.status).toBe(200);
    expect(response.headers.get("request-id")).toMatch(/^req_/);
    const message = anthropicMessage.parse(json(await response.text()));
    expect(message.model).toBe("claude-sonnet-4-5");
    expect(message.content).toEqual([{ type: "text", text: "Hello!" }]);
    expect(message.stop_reason).toBe("end_turn");
    expect(message.usage).toEqual({
      input_tokens: 7,
      cache_creation_input_tokens: 250,
      cache_read_input_tokens: 1000,
      cache_creation: { ephemeral_5m_input_tokens: 200, ephemeral_1h_input_tokens: 50 },
      output_tokens: 30,
      service_tier: "standard",
    });
  });

  it("streams message_start, content_block_start, ping, deltas, content_block_stop, message_delta, message_stop", async () => {
    fake().enqueue({ text: "abcdef", chunks: 3, usage, model: "claude-sonnet-4-5-20250929" });
    const response = await post(fake(), "/v1/messages", { ...request, stream: true }, anthropicHeaders(fake()));
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const messages = parseSse(await response.text());
    const events = messages.map((m) => anthropicStreamEvent.parse(json(m.data)));
    // The SSE `event:` name always equals the payload's type.
    expect(messages.map((m) => m.event)).toEqual(events.map((e) => e.type));
    expect(events.map((e) => e.type)).toEqual(["message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]);
    const start = events[0];
    if (start?.type !== "message_start") throw new Error("first event is not message_start");
    expect(start.message.model).toBe("claude-sonnet-4-5-20250929");
    expect(start.message.content).toEqual([]);
    expect(start.message.stop_reason).toBeNull();
    // message_start has the final input side but only a token of output...
    expect(start.message.usage).toMatchObject({ input_tokens: 7, cache_read_input_tokens: 1000, cache_creation_input_tokens: 250, output_tokens: 1 });
    const text = events.flatMap((e) => (e.type === "content_block_delta" ? [e.delta.text] : [])).join("");
    expect(text).toBe("abcdef");
    // ...and message_delta carries cumulative totals: summing the two would double count.
    const delta = events.find((e) => e.type === "message_delta");
    expect(delta?.type === "message_delta" ? delta.usage : undefined).toEqual({ input_tokens: 7, cache_creation_input_tokens: 250, cache_read_input_tokens: 1000, output_tokens: 30 });
  });

  it("sends an `event: error` overloaded_error mid-stream when asked, then ends", async () => {
    fake().enqueue({ errorEventAfter: 4 });
    const response = await post(fake(), "/v1/messages", { ...request, stream: true }, anthropicHeaders(fake()));
    expect(response.status).toBe(200);
    const messages = parseSse(await response.text());
    expect(messages.map((m) => m.event)).toEqual(["message_start", "content_block_start", "ping", "content_block_delta", "error"]);
    expect(anthropicStreamEvent.parse(json(messages[4]?.data ?? ""))).toEqual({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } });
  });

  it("requires anthropic-version, like the real API", async () => {
    const response = await post(fake(), "/v1/messages", request, { "x-api-key": fake().keys.anthropic });
    expect(response.status).toBe(400);
    const body = anthropicError.parse(json(await response.text()));
    expect(body.error).toEqual({ type: "invalid_request_error", message: "anthropic-version: header is required" });
  });

  it("rejects a missing max_tokens and a body that is not JSON with invalid_request_error", async () => {
    const { max_tokens: _omitted, ...withoutMax } = request;
    const missing = await post(fake(), "/v1/messages", withoutMax, anthropicHeaders(fake()));
    expect(missing.status).toBe(400);
    expect(anthropicError.parse(json(await missing.text())).error.message).toBe("max_tokens: Field required");
    const garbage = await post(fake(), "/v1/messages", "{not json", anthropicHeaders(fake()));
    expect(garbage.status).toBe(400);
    expect(anthropicError.parse(json(await garbage.text())).error.type).toBe("invalid_request_error");
  });

  it("rejects a wrong or missing x-api-key with the real 401 body", async () => {
    const wrong = await post(fake(), "/v1/messages", request, { "x-api-key": "sk-ant-wrong", "anthropic-version": "2023-06-01" });
    expect(wrong.status).toBe(401);
    const body = anthropicError.parse(json(await wrong.text()));
    expect(body.error).toEqual({ type: "authentication_error", message: "invalid x-api-key" });
    expect(wrong.headers.get("request-id")).toBe(body.request_id);
    const missing = await post(fake(), "/v1/messages", request, { "anthropic-version": "2023-06-01" });
    expect(missing.status).toBe(401);
    expect(anthropicError.parse(json(await missing.text())).error.message).toBe("x-api-key header is required");
  });

  it("answers a behaviour error with the status that matches its type", async () => {
    fake().enqueue({ error: { type: "overloaded_error", message: "Overloaded" } });
    const overloaded = await post(fake(), "/v1/messages", request, anthropicHeaders(fake()));
    expect(overloaded.status).toBe(529);
    expect(anthropicError.parse(json(await overloaded.text())).error.type).toBe("overloaded_error");
    fake().enqueue({ status: 429 });
    const limited = await post(fake(), "/v1/messages", request, anthropicHeaders(fake()));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("1");
    expect(anthropicError.parse(json(await limited.text())).error.type).toBe("rate_limit_error");
  });

  it("answers compact JSON, as the real API does", async () => {
    const response = await post(fake(), "/v1/messages", request, anthropicHeaders(fake()));
    expect(await response.text()).not.toContain("\n");
  });
});

describe("Anthropic count_tokens and models", () => {
  it("counts tokens as { input_tokens }", async () => {
    fake().enqueue({ usage: { input: 42 } });
    const response = await post(fake(), "/v1/messages/count_tokens", { model: "claude-sonnet-4-5", messages: request.messages }, anthropicHeaders(fake()));
    expect(response.status).toBe(200);
    expect(json(await response.text())).toEqual({ input_tokens: 42 });
  });

  it("lists models when called with Anthropic headers", async () => {
    const response = await fetch(`${fake().url}/v1/models`, { headers: anthropicHeaders(fake()) });
    expect(response.status).toBe(200);
    const list = anthropicModelList.parse(json(await response.text()));
    expect(list.data.length).toBeGreaterThan(0);
    expect(list.first_id).toBe(list.data[0]?.id);
  });
});

describe("request recording", () => {
  it("records method, path, search, lower-cased headers and the body", async () => {
    await post(fake(), "/v1/messages?beta=true", request, { ...anthropicHeaders(fake()), "Anthropic-Beta": "prompt-caching-2024-07-31" });
    expect(fake().requests).toHaveLength(1);
    const recorded = fake().requests[0];
    expect(recorded?.method).toBe("POST");
    expect(recorded?.path).toBe("/v1/messages");
    expect(recorded?.search).toBe("?beta=true");
    expect(recorded?.headers["x-api-key"]).toBe("fake-anthropic-key");
    expect(recorded?.headers["anthropic-beta"]).toBe("prompt-caching-2024-07-31");
    expect(json(recorded?.bodyText ?? "")).toEqual(request);
    expect(recorded?.receivedAt).toBeGreaterThan(Date.now() - 5000);
  });

  it("never echoes the request body into the answer", async () => {
    const secret = "user-secret-prompt-4f9a";
    const response = await post(fake(), "/v1/messages", { ...request, messages: [{ role: "user", content: secret }], stream: true }, anthropicHeaders(fake()));
    expect(await response.text()).not.toContain(secret);
  });
});
