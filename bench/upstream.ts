/**
 * The benchmark's upstream: one process every candidate forwards to, speaking OpenAI Chat
 * Completions (JSON, and SSE chunks ending in `data: [DONE]`). The request's `model`
 * selects the behaviour so every candidate sees the same upstream:
 *   bench-delay-<ms>   JSON answer after <ms>
 *   bench-stream       SSE: first chunk at once, then 9 more every 1 ms
 *   bench-slow-stream  SSE: one chunk every 500 ms, 10 chunks (memory test)
 * and, for the cloud-route rows (bench/cloud-routes.ts), the same ten-delta Claude stream as
 * Anthropic's SSE on `POST /v1/messages` and as Bedrock's event stream (each event a base64
 * `chunk`, invocation metrics on the last) on `POST /model/<id>/invoke-with-response-stream`.
 * The signature is not checked here: the bench measures the gateway, the tests check signing.
 */
import http from "node:http";
import { EventStreamCodec } from "@smithy/eventstream-codec";

const codec = new EventStreamCodec(
  (bytes: Uint8Array) => new TextDecoder().decode(bytes),
  (text: string) => new TextEncoder().encode(text),
);

/** Claude's streamed events: start, ten deltas, stop (the same for both wires). */
function claudeEvents(): Array<Record<string, unknown>> {
  const usage = { input_tokens: 12, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, output_tokens: 1 };
  return [
    { type: "message_start", message: { id: "msg_bench", type: "message", role: "assistant", model: "claude-sonnet-4-5-20250929", content: [], stop_reason: null, stop_sequence: null, usage } },
    { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
    ...Array.from({ length: 10 }, (_, i) => ({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: `tok${i} ` } })),
    { type: "content_block_stop", index: 0 },
    { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { ...usage, output_tokens: 10 } },
    { type: "message_stop" },
  ];
}

const sseEvent = (event: Record<string, unknown>): string => `event: ${String(event["type"])}\ndata: ${JSON.stringify(event)}\n\n`;

function bedrockFrame(event: Record<string, unknown>, last: boolean): Uint8Array {
  const payload = last ? { ...event, "amazon-bedrock-invocationMetrics": { inputTokenCount: 12, outputTokenCount: 10, invocationLatency: 10, firstByteLatency: 1 } } : event;
  const body = new TextEncoder().encode(JSON.stringify({ bytes: Buffer.from(JSON.stringify(payload)).toString("base64") }));
  return codec.encode({ headers: { ":event-type": { type: "string", value: "chunk" }, ":content-type": { type: "string", value: "application/json" }, ":message-type": { type: "string", value: "event" } }, body });
}

/** The first event at once, then one every 1 ms, as bench-stream does. */
function streamClaude(res: http.ServerResponse, bedrock: boolean): void {
  res.socket?.setNoDelay(true);
  res.writeHead(200, { "content-type": bedrock ? "application/vnd.amazon.eventstream" : "text/event-stream" });
  const events = claudeEvents();
  const write = (i: number) => (bedrock ? res.write(bedrockFrame(events[i] as Record<string, unknown>, i === events.length - 1)) : res.write(sseEvent(events[i] as Record<string, unknown>)));
  let i = 0;
  write(i++);
  const timer = setInterval(() => {
    if (i < events.length) return void write(i++);
    clearInterval(timer);
    res.end();
  }, 1);
  res.on("close", () => clearInterval(timer));
}

const port = Number(process.argv[2] ?? 0);

function completion(model: string): string {
  return JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion",
    created: 1_764_000_000,
    model,
    choices: [{ index: 0, message: { role: "assistant", content: "Hello from the bench upstream.", refusal: null }, logprobs: null, finish_reason: "stop" }],
    usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
  });
}

function chunk(model: string, content: string | null, usage: boolean): string {
  const body = {
    id: "chatcmpl-bench",
    object: "chat.completion.chunk",
    created: 1_764_000_000,
    model,
    choices: usage ? [] : [{ index: 0, delta: content === null ? {} : { content }, logprobs: null, finish_reason: content === null ? "stop" : null }],
    ...(usage ? { usage: { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 } } : {}),
  };
  return `data: ${JSON.stringify(body)}\n\n`;
}

const server = http.createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on("data", (c: Buffer) => parts.push(c));
  req.on("end", () => {
    if (req.url === "/v1/messages" || req.url?.endsWith("/invoke-with-response-stream")) return streamClaude(res, req.url !== "/v1/messages");
    let model = "bench-delay-0";
    let includeUsage = false;
    try {
      const body = JSON.parse(Buffer.concat(parts).toString("utf8")) as { model?: string; stream_options?: { include_usage?: boolean } };
      model = body.model ?? model;
      includeUsage = body.stream_options?.include_usage === true;
    } catch (err) {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: `bad JSON: ${(err as Error).message}`, type: "invalid_request_error", param: null, code: null } }));
      return;
    }
    if (model === "bench-stream" || model === "bench-slow-stream") {
      const interval = model === "bench-stream" ? 1 : 500;
      res.socket?.setNoDelay(true);
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      let sent = 0;
      res.write(chunk(model, "tok0 ", false));
      const timer = setInterval(() => {
        sent++;
        if (sent < 9) return void res.write(chunk(model, `tok${sent} `, false));
        clearInterval(timer);
        res.write(chunk(model, null, false));
        if (includeUsage) res.write(chunk(model, null, true));
        res.end("data: [DONE]\n\n");
      }, interval);
      res.on("close", () => clearInterval(timer));
      return;
    }
    const delay = Number(/^bench-delay-(\d+)$/.exec(model)?.[1] ?? 0);
    const send = () => {
      const text = completion(model);
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    };
    if (delay > 0) setTimeout(send, delay);
    else send();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`${typeof address === "object" && address ? address.port : port}\n`);
});
