import { describe, expect, it } from "vitest";
import { googleHeaders, json, parseSse, post, useFakeUpstream } from "./test-helpers.ts";
import { geminiCountTokens, geminiError, geminiResponse } from "./wire-schemas.ts";

const fake = useFakeUpstream();

const request = { contents: [{ role: "user", parts: [{ text: "hi" }] }] };
const usage = { input: 100, output: 300, cacheRead: 2048, cacheWrite5m: 0, cacheWrite1h: 0, reasoning: 256 };
const model = "gemini-2.5-flash";

describe("Gemini generateContent", () => {
  it("answers with promptTokenCount INCLUDING cachedContentTokenCount and thoughts separate from candidates", async () => {
    fake().enqueue({ text: "Hi!", usage });
    const response = await post(fake(), `/v1beta/models/${model}:generateContent`, request, googleHeaders(fake()));
    expect(response.status).toBe(200);
    const body = geminiResponse.parse(json(await response.text()));
    expect(body.modelVersion).toBe(model);
    expect(body.candidates[0]).toEqual({ content: { parts: [{ text: "Hi!" }], role: "model" }, finishReason: "STOP", index: 0 });
    expect(body.usageMetadata).toEqual({
      promptTokenCount: 2148,
      candidatesTokenCount: 44,
      totalTokenCount: 2448,
      cachedContentTokenCount: 2048,
      promptTokensDetails: [{ modality: "TEXT", tokenCount: 2148 }],
      cacheTokensDetails: [{ modality: "TEXT", tokenCount: 2048 }],
      thoughtsTokenCount: 256,
    });
  });

  it("omits zero-valued optional counts, as the API does", async () => {
    fake().enqueue({ usage: { input: 5, output: 3 } });
    const body = geminiResponse.parse(json(await (await post(fake(), `/v1beta/models/${model}:generateContent`, request, googleHeaders(fake()))).text()));
    expect(body.usageMetadata).toEqual({ promptTokenCount: 5, candidatesTokenCount: 3, totalTokenCount: 8, promptTokensDetails: [{ modality: "TEXT", tokenCount: 5 }] });
  });

  it("requires contents", async () => {
    const response = await post(fake(), `/v1beta/models/${model}:generateContent`, {}, googleHeaders(fake()));
    expect(response.status).toBe(400);
    expect(geminiError.parse(json(await response.text())).error).toMatchObject({ code: 400, status: "INVALID_ARGUMENT" });
  });
});

describe("Gemini streamGenerateContent", () => {
  it("with alt=sse streams data: events framed with CRLF; usage grows and the finishReason chunk has the totals", async () => {
    fake().enqueue({ text: "abcdef", chunks: 3, usage });
    const response = await post(fake(), `/v1beta/models/${model}:streamGenerateContent?alt=sse`, request, googleHeaders(fake()));
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const raw = await response.text();
    expect(raw.startsWith("data: {")).toBe(true);
    expect(raw.endsWith("}\r\n\r\n")).toBe(true);
    const chunks = parseSse(raw).map((m) => geminiResponse.parse(json(m.data)));
    expect(chunks).toHaveLength(4);
    expect(chunks.map((c) => c.candidates[0]?.content.parts[0]?.text).join("")).toBe("abcdef");
    expect(chunks.map((c) => c.candidates[0]?.finishReason)).toEqual([undefined, undefined, undefined, "STOP"]);
    const candidates = chunks.map((c) => c.usageMetadata.candidatesTokenCount);
    expect(candidates.at(-1)).toBe(44);
    for (let i = 1; i < candidates.length; i++) expect(candidates[i]).toBeGreaterThanOrEqual(candidates[i - 1] ?? 0);
    expect(candidates.slice(0, -1).every((n) => n < 44)).toBe(true);
    expect(chunks.every((c) => c.usageMetadata.promptTokenCount === 2148 && c.usageMetadata.thoughtsTokenCount === 256)).toBe(true);
    expect(new Set(chunks.map((c) => c.responseId)).size).toBe(1);
  });

  it("without alt=sse streams one JSON array, element by element", async () => {
    // Each element is held until the test releases it and read before the next is released:
    // no delays, so no reads merged by a loaded machine's scheduling.
    const releases: Array<() => void> = [];
    const held = [0, 1, 2].map(() => new Promise<void>((resolve) => releases.push(resolve)));
    fake().enqueue({ text: "abcdef", chunks: 3, usage, holdChunkUntil: (i) => held[i] ?? Promise.resolve() });
    const response = await post(fake(), `/v1beta/models/${model}:streamGenerateContent`, request, googleHeaders(fake()));
    expect(response.headers.get("content-type")).toBe("application/json; charset=UTF-8");
    if (!response.body) throw new Error("no body");
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const reads: string[] = [];
    for (const release of releases) {
      release();
      const { done, value } = await reader.read();
      if (done) throw new Error("the array ended early");
      reads.push(decoder.decode(value, { stream: true }));
    }
    // The first read is an unfinished array; each later one is the next element on its own.
    expect(reads[0]?.startsWith("[{")).toBe(true);
    expect(reads[0]).not.toContain("\r\n,\r\n");
    for (const later of reads.slice(1)) expect(later.startsWith("\r\n,\r\n{")).toBe(true);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      reads.push(decoder.decode(value, { stream: true }));
    }
    const whole = reads.join("");
    expect(whole.startsWith("[{")).toBe(true);
    const array = json(whole);
    if (!Array.isArray(array)) throw new Error("not a JSON array");
    const chunks = array.map((item) => geminiResponse.parse(item));
    expect(chunks).toHaveLength(4);
    expect(chunks.at(-1)?.usageMetadata.candidatesTokenCount).toBe(44);
    expect(chunks.at(-1)?.candidates[0]?.finishReason).toBe("STOP");
  });

  it("puts a Gemini error object into the stream when asked", async () => {
    fake().enqueue({ errorEventAfter: 1 });
    const sse = parseSse(await (await post(fake(), `/v1beta/models/${model}:streamGenerateContent?alt=sse`, request, googleHeaders(fake()))).text());
    expect(sse).toHaveLength(2);
    expect(geminiError.parse(json(sse[1]?.data ?? "")).error).toMatchObject({ code: 503, status: "UNAVAILABLE" });
    fake().enqueue({ errorEventAfter: 1 });
    const array = json(await (await post(fake(), `/v1beta/models/${model}:streamGenerateContent`, request, googleHeaders(fake()))).text());
    if (!Array.isArray(array)) throw new Error("not a JSON array");
    expect(geminiError.parse(array[1]).error.status).toBe("UNAVAILABLE");
  });
});

describe("Gemini countTokens, models and keys", () => {
  it("counts tokens", async () => {
    fake().enqueue({ usage: { input: 17 } });
    const response = await post(fake(), `/v1beta/models/${model}:countTokens`, request, googleHeaders(fake()));
    expect(geminiCountTokens.parse(json(await response.text()))).toEqual({ totalTokens: 17, promptTokensDetails: [{ modality: "TEXT", tokenCount: 17 }] });
  });

  it("lists models", async () => {
    const response = await fetch(`${fake().url}/v1beta/models`, { headers: googleHeaders(fake()) });
    expect(response.status).toBe(200);
    const body = json(await response.text());
    expect(body).toMatchObject({ models: expect.arrayContaining([expect.objectContaining({ name: `models/${model}` })]) });
  });

  it("accepts the key as ?key= too", async () => {
    const response = await post(fake(), `/v1beta/models/${model}:generateContent?key=${fake().keys.google}`, request, {});
    expect(response.status).toBe(200);
  });

  it("answers a wrong key with 400 API_KEY_INVALID and a missing one with 403", async () => {
    const wrong = await post(fake(), `/v1beta/models/${model}:generateContent`, request, { "x-goog-api-key": "AIzaWrong" });
    expect(wrong.status).toBe(400);
    const body = geminiError.parse(json(await wrong.text()));
    expect(body.error).toMatchObject({ code: 400, message: "API key not valid. Please pass a valid API key.", status: "INVALID_ARGUMENT" });
    expect(JSON.stringify(body.error.details)).toContain("API_KEY_INVALID");
    const missing = await post(fake(), `/v1beta/models/${model}:generateContent`, request, {});
    expect(missing.status).toBe(403);
    expect(geminiError.parse(json(await missing.text())).error.status).toBe("PERMISSION_DENIED");
  });

  it("answers a behaviour error by status name with the matching code", async () => {
    fake().enqueue({ error: { type: "RESOURCE_EXHAUSTED", message: "Quota exceeded." } });
    const response = await post(fake(), `/v1beta/models/${model}:generateContent`, request, googleHeaders(fake()));
    expect(response.status).toBe(429);
    expect(geminiError.parse(json(await response.text())).error).toEqual({ code: 429, message: "Quota exceeded.", status: "RESOURCE_EXHAUSTED" });
  });
});
