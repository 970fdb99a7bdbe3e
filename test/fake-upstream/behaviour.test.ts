import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { anthropicHeaders, googleHeaders, json, openAiHeaders, parseSse, post, useFakeUpstream } from "./test-helpers.ts";
import { startFakeUpstream } from "./index.ts";
import { anthropicMessage, openAiChatCompletion } from "./wire-schemas.ts";

const fake = useFakeUpstream();

const messagesRequest = { model: "claude-sonnet-4-5", max_tokens: 64, messages: [{ role: "user", content: "hi" }] };
const chatRequest = { model: "gpt-4.1-mini", messages: [{ role: "user", content: "hi" }] };

/** Reads until the stream ends or fails; returns what arrived and how it ended. */
async function readUntilEnd(response: Response): Promise<{ text: string; failed: boolean }> {
  if (!response.body) throw new Error("no body");
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, failed: false };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    if (error instanceof TypeError) return { text, failed: true }; // undici: "terminated"
    throw error;
  }
}

describe("behaviour queue", () => {
  it("uses enqueued behaviours first-in first-out, then the default", async () => {
    fake().setDefault({ text: "default" });
    fake().enqueue({ text: "first" });
    fake().enqueue({ text: "second" });
    const texts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await post(fake(), "/v1/chat/completions", chatRequest, openAiHeaders(fake()));
      texts.push(openAiChatCompletion.parse(json(await response.text())).choices[0]?.message.content ?? "");
    }
    expect(texts).toEqual(["first", "second", "default"]);
  });

  it("reset forgets requests, queue and default", async () => {
    fake().setDefault({ text: "default" });
    fake().enqueue({ status: 500 });
    await post(fake(), "/v1/chat/completions", chatRequest, openAiHeaders(fake()));
    fake().enqueue({ status: 500 });
    fake().reset();
    expect(fake().requests).toHaveLength(0);
    const response = await post(fake(), "/v1/chat/completions", chatRequest, openAiHeaders(fake()));
    expect(response.status).toBe(200);
    expect(openAiChatCompletion.parse(json(await response.text())).choices[0]?.message.content).toBe("Hello from the fake upstream.");
  });

  it("refuses an impossible behaviour when it is queued, not later", () => {
    expect(() => fake().enqueue({ usage: { output: 5, reasoning: 6 } })).toThrow(/reasoning/);
    expect(() => fake().enqueue({ usage: { input: -1 } })).toThrow(/non-negative/);
    expect(() => fake().setDefault({ chunks: 1.5 })).toThrow(/chunks/);
  });

  it("generates `chunks` words when no text is given", async () => {
    fake().enqueue({ chunks: 5 });
    const response = await post(fake(), "/v1/messages", { ...messagesRequest, stream: true }, anthropicHeaders(fake()));
    const deltas = parseSse(await response.text()).filter((m) => m.event === "content_block_delta");
    expect(deltas).toHaveLength(5);
  });
});

describe("timing", () => {
  // The fake's delays run on vitest's fake setTimeout; the sockets are real. What the client
  // has received is awaited (a read, a response), never measured against the wall clock.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("delays response headers by the server's delayMs, unless the behaviour says otherwise", async () => {
    const slow = await startFakeUpstream({ delayMs: 1_000 });
    try {
      let answered = false;
      const delayed = post(slow, "/v1/messages", messagesRequest, anthropicHeaders(slow)).then((response) => {
        answered = true;
        return response;
      });
      await slow.whenRequests(1);
      await vi.advanceTimersByTimeAsync(999);
      // A second request told not to wait is answered with no time passing at all; by then the
      // first, 1 ms short of its delay, has still not been.
      slow.enqueue({ headersDelayMs: 0 });
      anthropicMessage.parse(json(await (await post(slow, "/v1/messages", messagesRequest, anthropicHeaders(slow))).text()));
      expect(answered).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      anthropicMessage.parse(json(await (await delayed).text()));
    } finally {
      await slow.close();
    }
  });

  it("writes each delta as it is produced, not buffered to the end", async () => {
    fake().enqueue({ text: "abcd", chunks: 4, chunkDelayMs: 250 });
    const response = await post(fake(), "/v1/chat/completions", { ...chatRequest, stream: true }, openAiHeaders(fake()));
    if (!response.body) throw new Error("no body");
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const next = async (): Promise<string> => {
      const { done, value } = await reader.read();
      if (done) throw new Error("the stream ended early");
      return decoder.decode(value, { stream: true });
    };
    // The role chunk arrives at once, on its own, before the first delta is produced.
    const role = await next();
    expect(role).toContain('"role":"assistant"');
    expect(role).not.toContain('"content":"a"');
    // Then each delta once its 250 ms have passed, and only that one: nothing is held back.
    for (const [i, letter] of ["a", "b", "c", "d"].entries()) {
      const read = next();
      await vi.advanceTimersByTimeAsync(250);
      const text = await read;
      expect(text).toContain(`"content":"${letter}"`);
      for (const later of ["a", "b", "c", "d"].slice(i + 1)) expect(text).not.toContain(`"content":"${later}"`);
    }
  });
});

describe("failures", () => {
  it("failAfterEvents destroys the socket after exactly that many events", async () => {
    fake().enqueue({ failAfterEvents: 3 });
    const response = await post(fake(), "/v1/messages", { ...messagesRequest, stream: true }, anthropicHeaders(fake()));
    expect(response.status).toBe(200);
    const { text, failed } = await readUntilEnd(response);
    expect(failed).toBe(true);
    expect(parseSse(text).map((m) => m.event)).toEqual(["message_start", "content_block_start", "ping"]);
    expect(fake().aborted).toBe(0); // the fake hung up, not the client
  });

  it("failAfterEvents on a JSON answer cuts the body half way", async () => {
    fake().enqueue({ failAfterEvents: 0 });
    const response = await post(fake(), `/v1beta/models/gemini-2.5-flash:generateContent`, { contents: [] }, googleHeaders(fake()));
    const { text, failed } = await readUntilEnd(response);
    expect(failed).toBe(true);
    expect(text.length).toBeGreaterThan(0);
    expect(() => JSON.parse(text)).toThrow();
  });

  it("endless streams until the client aborts, then stops and counts the abort", async () => {
    // The ticks run on the fake setTimeout: each read is one tick advanced, and after the abort
    // a whole second of would-be ticks is advanced to show the fake stopped instead of erroring on.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const failures = vi.spyOn(console, "error");
    try {
      fake().enqueue({ endless: true, chunkDelayMs: 5 });
      const controller = new AbortController();
      const response = await post(fake(), "/v1/chat/completions", { ...chatRequest, stream: true }, openAiHeaders(fake()), controller.signal);
      if (!response.body) throw new Error("no body");
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let text = "";
      while (parseSse(text).length < 10) {
        const read = reader.read();
        await vi.advanceTimersByTimeAsync(5);
        const { done, value } = await read;
        if (done) throw new Error("an endless stream ended by itself");
        text += decoder.decode(value, { stream: true });
      }
      expect(text).toContain("tick0 ");
      controller.abort();
      await fake().whenAborted(1);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(fake().aborted).toBe(1);
      expect(failures).not.toHaveBeenCalled();
      // And it keeps serving.
      const next = await post(fake(), "/v1/chat/completions", chatRequest, openAiHeaders(fake()));
      expect(next.status).toBe(200);
    } finally {
      failures.mockRestore();
      vi.useRealTimers();
    }
  });
});

// Child processes (node + tsx): generous on a loaded 2-core machine.
describe("main.ts (standalone)", { timeout: 120_000 }, () => {
  const main = new URL("./main.ts", import.meta.url).pathname;

  it("prints its URL, serves, and exits cleanly on SIGTERM", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", main, "--port", "0", "--delay-ms", "1", "--chunks", "3"], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const lines = createInterface({ input: child.stdout });
      const [line] = (await once(lines, "line")) as [string];
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line)?.[1];
      expect(url).toBeDefined();
      const response = await fetch(`${url}/v1/messages`, {
        method: "POST",
        headers: { "x-api-key": "fake-anthropic-key", "anthropic-version": "2023-06-01", "content-type": "application/json" },
        body: JSON.stringify({ ...messagesRequest, stream: true }),
      });
      expect(parseSse(await response.text()).filter((m) => m.event === "content_block_delta")).toHaveLength(3);
      child.kill("SIGTERM");
      const [code] = (await once(child, "exit")) as [number | null];
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it("explains itself with --help and refuses bad numbers", async () => {
    const help = spawn(process.execPath, ["--import", "tsx", main, "--help"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    help.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const [helpCode] = (await once(help, "exit")) as [number | null];
    expect(helpCode).toBe(0);
    expect(out).toContain("--delay-ms");
    const bad = spawn(process.execPath, ["--import", "tsx", main, "--delay-ms", "soon"], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    bad.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    const [badCode] = (await once(bad, "exit")) as [number | null];
    expect(badCode).toBe(2);
    expect(err).toContain("--delay-ms must be a non-negative integer");
  });
});
