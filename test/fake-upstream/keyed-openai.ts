import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An OpenAI Chat Completions server (POST /v1/chat/completions) with several API keys, each
 * behaving on its own: `ok` answers, `rate-limited` answers OpenAI's 429 (`rate_limit_exceeded`,
 * with `retry-after` and the x-ratelimit-* headers OpenAI sends), `overloaded` OpenAI's 503,
 * `refused` drops the connection before any byte of an answer (what a crashed or unreachable
 * server looks like to the client), `silent` reads the request and never answers. An unknown or missing key gets OpenAI's 401 `invalid_api_key`. It records which key (by the
 * test's name for it) each request carried, so a test can see which key of a pool served.
 */
export type KeyBehaviour = "ok" | "rate-limited" | "overloaded" | "refused" | "silent";

export interface KeyedOpenAi {
  url: string;
  /** Key names in arrival order ("unknown" for a key the fake does not know). */
  seen: string[];
  /** `retryAfter` overrides the 429's `retry-after` for this key (delay-seconds or an HTTP date). */
  behave(name: string, behaviour: KeyBehaviour, retryAfter?: string): void;
  close(): Promise<void>;
}

export async function startKeyedOpenAi(keys: Readonly<Record<string, string>>, options: { retryAfterSeconds: number; usage: { prompt: number; completion: number } }): Promise<KeyedOpenAi> {
  const behaviours = new Map<string, KeyBehaviour>(Object.keys(keys).map((name) => [name, "ok"]));
  const retryAfters = new Map<string, string>();
  const silent = new Set<ServerResponse>();
  const nameByValue = new Map(Object.entries(keys).map(([name, value]) => [value, name]));
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { "content-type": "application/json", "x-request-id": `req_${Math.random().toString(16).slice(2)}`, "openai-processing-ms": "12", ...headers });
        res.end(JSON.stringify(body));
      };
      const auth = req.headers["authorization"];
      const value = typeof auth === "string" && auth.startsWith("Bearer ") ? auth.slice(7) : undefined;
      const name = value === undefined ? undefined : nameByValue.get(value);
      seen.push(name ?? "unknown");
      if (name === undefined) {
        const shown = value === undefined ? "" : `${value.slice(0, 3)}*****${value.slice(-4)}`;
        return send(401, { error: { message: `Incorrect API key provided: ${shown}. You can find your API key at https://platform.openai.com/account/api-keys.`, type: "invalid_request_error", param: null, code: "invalid_api_key" } });
      }
      if ((req.url ?? "").split("?")[0] !== "/v1/chat/completions" || req.method !== "POST") {
        return send(404, { error: { message: `Invalid URL (${req.method ?? ""} ${req.url ?? ""})`, type: "invalid_request_error", param: null, code: null } });
      }
      const behaviour = behaviours.get(name) ?? "ok";
      if (behaviour === "refused") return void req.socket.destroy();
      if (behaviour === "silent") return void silent.add(res);
      if (behaviour === "rate-limited") {
        const retryAfter = retryAfters.get(name) ?? String(options.retryAfterSeconds);
        return send(
          429,
          { error: { message: "Rate limit reached for gpt-4o-mini in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.", type: "requests", param: null, code: "rate_limit_exceeded" } },
          { "retry-after": retryAfter, "x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": `${options.retryAfterSeconds}s` },
        );
      }
      if (behaviour === "overloaded") return send(503, { error: { message: "The server is overloaded or not ready yet.", type: "server_error", param: null, code: null } });
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { model?: string };
      const { prompt, completion } = options.usage;
      send(200, {
        id: `chatcmpl-${Math.random().toString(36).slice(2)}`,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: body.model ?? "gpt-4o-mini",
        choices: [{ index: 0, message: { role: "assistant", content: "Hello.", refusal: null, annotations: [] }, logprobs: null, finish_reason: "stop" }],
        usage: {
          prompt_tokens: prompt,
          completion_tokens: completion,
          total_tokens: prompt + completion,
          prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
        },
        service_tier: "default",
        system_fingerprint: "fp_fake",
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    behave: (name, behaviour, retryAfter) => {
      behaviours.set(name, behaviour);
      if (retryAfter === undefined) retryAfters.delete(name);
      else retryAfters.set(name, retryAfter);
    },
    close: () => {
      for (const res of silent) res.destroy();
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
