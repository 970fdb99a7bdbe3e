import { describe, expect, it } from "vitest";
import { json, openAiHeaders, parseSse, post, useFakeUpstream } from "./test-helpers.ts";
import { openAiChatChunk, openAiChatCompletion, openAiEmbeddingList, openAiError, openAiModelList, openAiResponse, openAiResponsesEvent } from "./wire-schemas.ts";

const fake = useFakeUpstream();

const chat = { model: "gpt-4.1-mini", messages: [{ role: "user", content: "hi" }] };
const usage = { input: 10, output: 40, cacheRead: 1024, cacheWrite5m: 0, cacheWrite1h: 0, reasoning: 16 };

describe("OpenAI POST /v1/chat/completions", () => {
  it("answers JSON with prompt_tokens INCLUDING cached tokens and completion_tokens including reasoning", async () => {
    fake().enqueue({ text: "Hi there", usage });
    const response = await post(fake(), "/v1/chat/completions", chat, openAiHeaders(fake()));
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
    const completion = openAiChatCompletion.parse(json(await response.text()));
    expect(completion.model).toBe("gpt-4.1-mini");
    expect(completion.choices[0]?.message.content).toBe("Hi there");
    expect(completion.usage).toEqual({
      prompt_tokens: 1034,
      completion_tokens: 40,
      total_tokens: 1074,
      prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 16, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    });
  });

  it("streams chunks without any usage field when stream_options.include_usage is not set", async () => {
    fake().enqueue({ text: "abcd", chunks: 2, usage });
    const response = await post(fake(), "/v1/chat/completions", { ...chat, stream: true }, openAiHeaders(fake()));
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const messages = parseSse(await response.text());
    expect(messages.at(-1)?.data).toBe("[DONE]");
    expect(messages.every((m) => m.event === undefined)).toBe(true);
    const chunks = messages.slice(0, -1).map((m) => openAiChatChunk.parse(json(m.data)));
    expect(chunks).toHaveLength(4); // role, 2 deltas, finish
    expect(chunks.every((c) => !("usage" in c))).toBe(true);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: "assistant", content: "", refusal: null });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("abcd");
    expect(chunks.at(-1)?.choices[0]).toMatchObject({ delta: {}, finish_reason: "stop" });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it("with include_usage: usage null on every chunk, then one choices:[] chunk with the totals before [DONE]", async () => {
    fake().enqueue({ text: "abcd", chunks: 2, usage });
    const response = await post(fake(), "/v1/chat/completions", { ...chat, stream: true, stream_options: { include_usage: true } }, openAiHeaders(fake()));
    const messages = parseSse(await response.text());
    expect(messages.at(-1)?.data).toBe("[DONE]");
    const chunks = messages.slice(0, -1).map((m) => openAiChatChunk.parse(json(m.data)));
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({ prompt_tokens: 1034, completion_tokens: 40, prompt_tokens_details: { cached_tokens: 1024 } });
    for (const chunk of chunks.slice(0, -1)) {
      expect("usage" in chunk).toBe(true);
      expect(chunk.usage).toBeNull();
    }
  });

  it("sends an error object mid-stream when asked, with no [DONE] after it", async () => {
    fake().enqueue({ errorEventAfter: 2 });
    const response = await post(fake(), "/v1/chat/completions", { ...chat, stream: true }, openAiHeaders(fake()));
    const messages = parseSse(await response.text());
    expect(messages).toHaveLength(3);
    expect(openAiError.parse(json(messages[2]?.data ?? "")).error.type).toBe("server_error");
  });

  it("requires a model and messages", async () => {
    const noModel = await post(fake(), "/v1/chat/completions", { messages: [] }, openAiHeaders(fake()));
    expect(noModel.status).toBe(400);
    expect(openAiError.parse(json(await noModel.text())).error).toMatchObject({ type: "invalid_request_error", message: "you must provide a model parameter" });
    const noMessages = await post(fake(), "/v1/chat/completions", { model: "gpt-4.1-mini" }, openAiHeaders(fake()));
    expect(noMessages.status).toBe(400);
  });
});

describe("OpenAI POST /v1/responses", () => {
  it("answers JSON with input_tokens including cached tokens", async () => {
    fake().enqueue({ text: "Done.", usage: { ...usage, cacheWrite5m: 6 } });
    const response = await post(fake(), "/v1/responses", { model: "gpt-5-mini", input: "hi" }, openAiHeaders(fake()));
    expect(response.status).toBe(200);
    const body = openAiResponse.parse(json(await response.text()));
    expect(body.status).toBe("completed");
    expect(body.output[0]?.content[0]?.text).toBe("Done.");
    expect(body.usage).toEqual({
      input_tokens: 1040,
      input_tokens_details: { cache_write_tokens: 6, cached_tokens: 1024 },
      output_tokens: 40,
      output_tokens_details: { reasoning_tokens: 16 },
      total_tokens: 1080,
    });
  });

  it("streams the semantic events in order with consecutive sequence numbers", async () => {
    fake().enqueue({ text: "xyz", chunks: 3, usage });
    const response = await post(fake(), "/v1/responses", { model: "gpt-5-mini", input: "hi", stream: true }, openAiHeaders(fake()));
    const messages = parseSse(await response.text());
    const events = messages.map((m) => openAiResponsesEvent.parse(json(m.data)));
    expect(messages.map((m) => m.event)).toEqual(events.map((e) => e.type));
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const created = events[0];
    expect(created?.type === "response.created" ? created.response.usage : "missing").toBeNull();
    const done = events.find((e) => e.type === "response.output_text.done");
    expect(done?.type === "response.output_text.done" ? done.text : "").toBe("xyz");
    const completed = events.at(-1);
    if (completed?.type !== "response.completed") throw new Error("last event is not response.completed");
    expect(completed.response.usage).toMatchObject({ input_tokens: 1034, output_tokens: 40, output_tokens_details: { reasoning_tokens: 16 } });
    expect(completed.response.output[0]?.content[0]?.text).toBe("xyz");
  });

  it("reports a mid-stream failure as `error` then `response.failed`, numbering on", async () => {
    fake().enqueue({ errorEventAfter: 5, error: { type: "insufficient_quota", message: "You exceeded your current quota." } });
    const response = await post(fake(), "/v1/responses", { model: "gpt-5-mini", input: "hi", stream: true }, openAiHeaders(fake()));
    const events = parseSse(await response.text()).map((m) => openAiResponsesEvent.parse(json(m.data)));
    expect(events.map((e) => e.type).slice(-2)).toEqual(["error", "response.failed"]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const error = events.at(-2);
    expect(error?.type === "error" ? error.error : undefined).toEqual({ type: "insufficient_quota", code: "insufficient_quota", message: "You exceeded your current quota.", param: null });
  });
});

describe("OpenAI embeddings and models", () => {
  it("embeds each input, as floats or base64, with prompt-only usage", async () => {
    fake().enqueue({ usage: { input: 9 } });
    const floats = openAiEmbeddingList.parse(json(await (await post(fake(), "/v1/embeddings", { model: "text-embedding-3-small", input: ["a", "b"], dimensions: 8 }, openAiHeaders(fake()))).text()));
    expect(floats.data.map((d) => d.index)).toEqual([0, 1]);
    expect(floats.data[0]?.embedding).toHaveLength(8);
    expect(floats.usage).toEqual({ prompt_tokens: 9, total_tokens: 9 });
    const encoded = openAiEmbeddingList.parse(json(await (await post(fake(), "/v1/embeddings", { model: "text-embedding-3-small", input: "a", encoding_format: "base64" }, openAiHeaders(fake()))).text()));
    const embedding = encoded.data[0]?.embedding;
    expect(typeof embedding).toBe("string");
    expect(Buffer.from(String(embedding), "base64").byteLength).toBe(1536 * 4);
  });

  it("lists models with a Bearer key", async () => {
    const response = await fetch(`${fake().url}/v1/models`, { headers: openAiHeaders(fake()) });
    expect(response.status).toBe(200);
    expect(openAiModelList.parse(json(await response.text())).data.length).toBeGreaterThan(0);
  });
});

describe("OpenAI authentication and errors", () => {
  it("rejects a wrong key with invalid_api_key and never shows the whole key", async () => {
    const wrongKey = "sk-proj-abcdefghijklmnopqrstuvwxyz";
    const response = await post(fake(), "/v1/chat/completions", chat, { authorization: `Bearer ${wrongKey}` });
    expect(response.status).toBe(401);
    const text = await response.text();
    expect(text).not.toContain(wrongKey);
    expect(openAiError.parse(json(text)).error).toMatchObject({ type: "invalid_request_error", code: "invalid_api_key", param: null });
  });

  it("rejects a missing Authorization header", async () => {
    const response = await post(fake(), "/v1/chat/completions", chat, {});
    expect(response.status).toBe(401);
    expect(openAiError.parse(json(await response.text())).error.message).toMatch(/^You didn't provide an API key/);
  });

  it("answers behaviour errors in the OpenAI shape with matching status", async () => {
    fake().enqueue({ error: { type: "insufficient_quota", message: "quota" } });
    const quota = await post(fake(), "/v1/chat/completions", chat, openAiHeaders(fake()));
    expect(quota.status).toBe(429);
    expect(openAiError.parse(json(await quota.text())).error).toEqual({ message: "quota", type: "insufficient_quota", param: null, code: "insufficient_quota" });
    fake().enqueue({ status: 500 });
    const failed = await post(fake(), "/v1/responses", { model: "gpt-5-mini", input: "x" }, openAiHeaders(fake()));
    expect(failed.status).toBe(500);
    expect(openAiError.parse(json(await failed.text())).error.type).toBe("server_error");
  });

  it("answers an unknown path with the OpenAI 404 body", async () => {
    const response = await post(fake(), "/v1/nothing-here", {}, openAiHeaders(fake()));
    expect(response.status).toBe(404);
    expect(openAiError.parse(json(await response.text())).error.message).toBe("Invalid URL (POST /v1/nothing-here)");
  });
});
