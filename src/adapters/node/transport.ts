import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { Context } from "hono";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { GatewayError } from "../../core/errors.ts";
import { acceptNodeWebSocket } from "./websocket.ts";
import { filterResponseHeaders, type ForwardOptions, type IncomingHead, type ProxyTransport, type ResponseTap, type RetrySignal, type UpstreamRequest } from "../../proxy/index.ts";

interface NodeBindings {
  incoming: IncomingMessage;
  outgoing: ServerResponse;
}

function bindings(c: Context): NodeBindings {
  const env = c.env as Partial<NodeBindings> | undefined;
  if (!env?.incoming || !env.outgoing) throw new Error("Node transport used outside @hono/node-server");
  return env as NodeBindings;
}

// Keep-alive pools to upstreams: connection setup would otherwise dominate added latency.
// noDelay: a streamed chunk goes out at once (set on the socket when created, not per request).
const agentOptions: http.AgentOptions = { keepAlive: true, maxSockets: 1024, maxFreeSockets: 256, scheduling: "lifo", noDelay: true };
const httpAgent = new http.Agent(agentOptions);
const httpsAgent = new https.Agent(agentOptions);

/**
 * Moves bytes with node:http directly (no Web-stream conversion): each upstream chunk is
 * written to the client socket as it arrives, the tap sees the same Buffer, backpressure
 * pauses the upstream, and a client that goes away aborts the upstream request.
 */
export const nodeTransport: ProxyTransport = {
  head(c: Context): IncomingHead {
    // A WebSocket upgrade has an incoming request but no response object.
    const incoming = (c.env as Partial<NodeBindings> | undefined)?.incoming;
    if (!incoming) throw new Error("Node transport used outside @hono/node-server");
    const url = incoming.url ?? "/";
    const q = url.indexOf("?");
    return {
      method: incoming.method ?? "GET",
      path: q === -1 ? url : url.slice(0, q),
      search: q === -1 ? "" : url.slice(q),
      headers: incoming.headers,
    };
  },

  acceptWebSocket: acceptNodeWebSocket,

  readBody(c: Context, limit: number): Promise<Uint8Array> {
    const { incoming } = bindings(c);
    const declared = Number(incoming.headers["content-length"] ?? NaN);
    if (declared > limit) return Promise.reject(tooLarge(limit));
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          incoming.off("data", onData);
          incoming.off("end", onEnd);
          // Stop reading; the error response closes the connection.
          incoming.pause();
          reject(tooLarge(limit));
          return;
        }
        chunks.push(chunk);
      };
      const onEnd = () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
      incoming.on("data", onData);
      incoming.once("end", onEnd);
      incoming.once("error", (err) => reject(new GatewayError("bad_request", "The request body could not be read.", { cause: err })));
    });
  },

  forward(c: Context, request: UpstreamRequest, tap: ResponseTap, options: ForwardOptions): Promise<Response | RetrySignal> {
    const { outgoing } = bindings(c);
    const target = requestTarget(request.url);

    return new Promise<Response | RetrySignal>((resolve, reject) => {
      let ended = false;
      let responded = false;
      const end = (outcome: "completed" | "client_aborted" | "upstream_failed", failure?: string) => {
        if (ended) return;
        ended = true;
        tap.onEnd(outcome, failure);
      };

      if (outgoing.destroyed) {
        // The client left while an earlier attempt was being retried.
        end("client_aborted");
        resolve(RESPONSE_ALREADY_SENT);
        return;
      }
      const upstream = target.client.request({ ...target.options, path: target.path, method: request.method, headers: request.headers });
      const headerTimer = setTimeout(() => upstream.destroy(new UpstreamTimeout()), options.headerTimeoutMs);

      outgoing.once("close", () => {
        if (outgoing.writableFinished) return;
        // The client went away: stop the upstream so it stops generating (and billing).
        upstream.destroy();
        end("client_aborted");
      });

      upstream.once("response", (res) => {
        clearTimeout(headerTimer);
        responded = true;
        const status = res.statusCode ?? 502;
        if (options.retryOn?.(status)) {
          // Fallback routing: this answer never reaches the client; free the socket.
          ended = true;
          res.resume();
          resolve({ retry: true, status });
          return;
        }
        tap.onResponse(status);
        const transform = status < 400 ? options.transform : undefined;
        const headers = filterResponseHeaders(res.headers, transform !== undefined);
        for (const name in options.responseHeaders) headers[name] = options.responseHeaders[name] as string;
        outgoing.writeHead(status, headers);
        let wroteBody = false;
        if (options.streaming) {
          outgoing.socket?.setNoDelay(true);
          // A client must see the stream open before a slow first token. When the first
          // chunk came in the same packet as the headers it is written before this runs,
          // and headers and chunk leave in one write; otherwise the headers go out alone.
          setImmediate(() => {
            if (!wroteBody && !outgoing.writableEnded && !outgoing.destroyed) outgoing.flushHeaders();
          });
        }
        resolve(RESPONSE_ALREADY_SENT);

        res.on("data", (chunk: Buffer) => {
          tap.onChunk(chunk);
          const out = transform ? transform.transform(chunk) : chunk;
          if (out.byteLength === 0) return;
          wroteBody = true;
          if (!outgoing.write(out)) {
            res.pause();
            outgoing.once("drain", () => res.resume());
          }
        });
        res.once("end", () => {
          if (transform) {
            const rest = transform.flush();
            if (rest.byteLength > 0) outgoing.write(rest);
          }
          outgoing.end();
          end("completed");
        });
        res.once("aborted", () => failMidStream());
        res.once("error", () => failMidStream());
      });

      upstream.once("error", (err) => {
        clearTimeout(headerTimer);
        if (ended) return;
        if (responded) return failMidStream();
        const timedOut = err instanceof UpstreamTimeout;
        // No response started: the caller records this attempt (it may try a fallback).
        ended = true;
        // Rejected errors become a provider-shaped 502/504; never the upstream's text.
        reject(
          timedOut
            ? new GatewayError("upstream_timeout", "The upstream provider did not answer in time.")
            : new GatewayError("upstream_unavailable", "The upstream provider could not be reached.", { cause: err }),
        );
      });

      function failMidStream(): void {
        if (ended) return;
        if (outgoing.writable && !outgoing.writableEnded) {
          // A streaming client gets an error event it understands; then the stream ends.
          if (options.streamErrorEvent) {
            outgoing.write(`\n\n${options.streamErrorEvent}`);
            outgoing.end();
          } else outgoing.destroy();
        }
        end("upstream_failed", "upstream_stream_broken");
      }

      if (request.body && request.body.byteLength > 0) upstream.end(request.body);
      else upstream.end();
    });
  },
};

interface Target {
  client: typeof http | typeof https;
  options: { protocol: string; hostname: string; port: string | number; agent: http.Agent };
  path: string;
}

// Upstream origins are few (one per provider); parse each once instead of per request.
const origins = new Map<string, Target["options"] & { client: Target["client"] }>();

function requestTarget(url: string): Target {
  const pathStart = url.indexOf("/", url.indexOf("//") + 2);
  const origin = pathStart === -1 ? url : url.slice(0, pathStart);
  const path = pathStart === -1 ? "/" : url.slice(pathStart);
  let known = origins.get(origin);
  if (!known) {
    const parsed = new URL(origin);
    const secure = parsed.protocol === "https:";
    known = { client: secure ? https : http, protocol: parsed.protocol, hostname: parsed.hostname.replace(/^\[|\]$/g, ""), port: parsed.port || (secure ? 443 : 80), agent: secure ? httpsAgent : httpAgent };
    if (origins.size < 1000) origins.set(origin, known);
  }
  const { client, ...options } = known;
  return { client, options, path };
}

class UpstreamTimeout extends Error {
  override readonly name = "UpstreamTimeout";
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError("payload_too_large", `Request body is larger than the gateway's limit of ${limit} bytes.`);
}
