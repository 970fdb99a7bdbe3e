/**
 * The benchmark's upstream: one process every candidate forwards to, speaking OpenAI Chat
 * Completions (JSON, and SSE chunks ending in `data: [DONE]`). The request's `model`
 * selects the behaviour so every candidate sees the same upstream:
 *   bench-delay-<ms>   JSON answer after <ms>
 *   bench-stream       SSE: first chunk at once, then 9 more every 1 ms
 *   bench-slow-stream  SSE: one chunk every 500 ms, 10 chunks (memory test)
 */
import http from "node:http";

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
