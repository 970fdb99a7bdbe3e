import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { Context } from "hono";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { GatewayError } from "../../core/errors.ts";
import { acceptNodeWebSocket } from "./websocket.ts";
import { FAILURE_NOT_SENT, filterResponseHeaders, type ForwardOptions, type IncomingHead, type ProxyTransport, type ResponseTap, type RetrySignal, type UpstreamRequest } from "../../proxy/index.ts";
import {
  ANSWER_FAILURES,
  AnswerLifecycle,
  idleTimeoutMessage,
  requestBodyTimeoutError,
  requestBodyTooLargeError,
  requestBodyUnreadableError,
  SilenceTimer,
  UpstreamTimeout,
  upstreamTimeoutError,
  upstreamUnavailableError,
} from "../../proxy/transport-lifecycle.ts";
import { createClientStream, type ClientStream } from "../../proxy/client-stream.ts";

interface NodeBindings {
  incoming: IncomingMessage;
  outgoing: ServerResponse;
}

function bindings(c: Context): NodeBindings {
  const env = c.env as Partial<NodeBindings> | undefined;
  if (!env?.incoming || !env.outgoing) throw new Error("Node transport used outside @hono/node-server");
  return env as NodeBindings;
}

export interface NodeTransportOptions {
  /** Upstream sockets per origin (the keep-alive pool); requests past it queue in the agent. */
  maxSockets: number;
}

/** The upstream pool as /metrics shows it, summed over origins. */
export interface UpstreamPoolStats {
  maxSocketsPerOrigin: number;
  /** Sockets carrying a request now. */
  activeSockets: number;
  /** Idle keep-alive sockets. */
  freeSockets: number;
  /** Requests waiting for a socket (the pool is saturated while this is above 0). */
  queuedRequests: number;
  /** Upstream requests forwarded and not yet ended (headers awaited or body streaming). */
  inFlight: number;
}

export interface NodeTransport extends ProxyTransport {
  poolStats(): UpstreamPoolStats;
  /**
   * Ends every answer still being relayed with the provider's error event carrying
   * `message` (the drain deadline at shutdown), so clients see a clean end instead of a cut
   * socket and each row is written. Returns how many were ended.
   */
  endAnswers(message: string): number;
}

interface ForwardCounter {
  inFlight: number;
  /** Answers being relayed: each entry ends its answer with the provider's error event. */
  answers: Set<(message: string) => void>;
}

/**
 * Moves bytes with node:http directly (no Web-stream conversion): each upstream chunk is
 * written to the client socket as it arrives, the tap sees the same Buffer, backpressure
 * pauses the upstream, and a client that goes away aborts the upstream request. Three
 * deadlines bound what a peer can hold: the request body's arrival, the upstream's
 * silence once its headers came, and a client write blocked by backpressure.
 */
export function createNodeTransport(options: NodeTransportOptions): NodeTransport {
  // Keep-alive pools to upstreams: connection setup would otherwise dominate added latency.
  // noDelay: a streamed chunk goes out at once (set on the socket when created, not per request).
  const agentOptions: http.AgentOptions = { keepAlive: true, maxSockets: options.maxSockets, maxFreeSockets: Math.min(256, options.maxSockets), scheduling: "lifo", noDelay: true };
  const agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
  const origins = new Map<string, Target["options"] & { client: Target["client"] }>();
  const counter: ForwardCounter = { inFlight: 0, answers: new Set() };
  return {
    head: readHead,
    acceptWebSocket: acceptNodeWebSocket,
    readBody,
    forward: (c, request, tap, forwardOptions) => forward(c, requestTarget(origins, agents, request.url), request, tap, forwardOptions, counter),
    poolStats: () => ({ maxSocketsPerOrigin: options.maxSockets, ...sumCounts(socketCounts(agents.http), socketCounts(agents.https)), inFlight: counter.inFlight }),
    endAnswers(message) {
      const answers = [...counter.answers];
      for (const endAnswer of answers) endAnswer(message);
      return answers.length;
    },
  };
}

function socketCounts(agent: http.Agent): { activeSockets: number; freeSockets: number; queuedRequests: number } {
  const total = (lists: NodeJS.ReadOnlyDict<unknown[]>) => {
    let n = 0;
    for (const name in lists) n += lists[name]?.length ?? 0;
    return n;
  };
  return { activeSockets: total(agent.sockets), freeSockets: total(agent.freeSockets), queuedRequests: total(agent.requests) };
}

function sumCounts(a: ReturnType<typeof socketCounts>, b: ReturnType<typeof socketCounts>): ReturnType<typeof socketCounts> {
  return { activeSockets: a.activeSockets + b.activeSockets, freeSockets: a.freeSockets + b.freeSockets, queuedRequests: a.queuedRequests + b.queuedRequests };
}

function readHead(c: Context): IncomingHead {
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
}

function readBody(c: Context, limit: number, deadlineMs?: number): Promise<Uint8Array> {
  const { incoming } = bindings(c);
  const declared = Number(incoming.headers["content-length"] ?? NaN);
  if (declared > limit) return Promise.reject(requestBodyTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // A body trickled in (1 byte/s) would otherwise hold the connection forever.
    const deadline = deadlineMs === undefined ? undefined : setTimeout(() => stop(requestBodyTimeoutError(deadlineMs)), deadlineMs);
    const stop = (err: GatewayError) => {
      clearTimeout(deadline);
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      // Stop reading; the error response closes the connection.
      incoming.pause();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return stop(requestBodyTooLargeError(limit));
      chunks.push(chunk);
    };
    const onEnd = () => {
      clearTimeout(deadline);
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    incoming.on("data", onData);
    incoming.once("end", onEnd);
    incoming.once("error", (err) => stop(requestBodyUnreadableError(err)));
  });
}

function forward(c: Context, target: Target, request: UpstreamRequest, tap: ResponseTap, options: ForwardOptions, counter: ForwardCounter): Promise<Response | RetrySignal> {
  const { outgoing } = bindings(c);

  return new Promise<Response | RetrySignal>((resolve, reject) => {
    let responded = false;
    let client: ClientStream | undefined;
    let writeTimer: NodeJS.Timeout | undefined;
    counter.inFlight++;
    const endAnswer = (message: string) => failMidStream(ANSWER_FAILURES.shutdown, message);
    // The upstream's silence is timed only while the client keeps up: a paused upstream
    // (backpressure) is the client-write deadline's business.
    const silence = new SilenceTimer(options.idleTimeoutMs, () => failMidStream(ANSWER_FAILURES.idleTimeout, idleTimeoutMessage(options.idleTimeoutMs ?? 0)));
    // Once per forward, however it ended: the in-flight gauge and the timers.
    const life = new AnswerLifecycle(tap, () => {
      counter.inFlight--;
      counter.answers.delete(endAnswer);
      silence.stop();
      clearTimeout(writeTimer);
    });
    const end = (outcome: "completed" | "client_aborted" | "upstream_failed", failure?: string) => life.end(outcome, failure);

    if (outgoing.destroyed) {
      // The client left while an earlier attempt was being retried: this one was never sent.
      end("client_aborted", FAILURE_NOT_SENT);
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
        life.discard();
        res.resume();
        // node:http keeps the first retry-after and discards repeats, so it is one string (IncomingHttpHeaders types it so).
        const retryAfter: string | undefined = res.headers["retry-after"];
        resolve({ retry: true, status, retryAfter });
        return;
      }
      tap.onResponse(status, res.headers["retry-after"]);
      const transform = status < 400 ? options.transform : options.errorTransform?.(status);
      const reframedAs = transform ? (status < 400 ? options.answerContentType : options.errorContentType) : undefined;
      const contentType = reframedAs ?? res.headers["content-type"];
      client = createClientStream(options, status, contentType, transform);
      // A framed stream may drop an event or end in an error event: its length is not the upstream's.
      const headers = filterResponseHeaders(res.headers, transform !== undefined || client.framed);
      if (reframedAs !== undefined) headers["content-type"] = reframedAs;
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
      counter.answers.add(endAnswer);

      const armIdle = () => {
        if (!life.ended) silence.arm();
      };
      armIdle();
      const stream = client;

      res.on("data", (chunk: Buffer) => {
        tap.onChunk(chunk);
        const out = stream.push(chunk);
        if (out.byteLength === 0) return armIdle();
        wroteBody = true;
        if (outgoing.write(out)) return armIdle();
        res.pause();
        silence.pause();
        const writeMs = options.clientWriteTimeoutMs;
        // One deadline per stall: a chunk already buffered past the pause must not start a second one.
        if (writeMs !== undefined && writeTimer === undefined) writeTimer = setTimeout(clientStalled, writeMs);
        outgoing.once("drain", () => {
          clearTimeout(writeTimer);
          writeTimer = undefined;
          if (life.ended) return;
          res.resume();
          armIdle();
        });
      });
      res.once("end", () => {
        if (life.ended) return;
        const { bytes, failure } = stream.end();
        if (failure !== undefined) {
          // The body ended inside an event: the held tail is dropped, the error event ends the stream.
          if (!end("upstream_failed", failure)) return;
          if (bytes === undefined) outgoing.destroy();
          else outgoing.end(bytes);
          return;
        }
        if (bytes && bytes.byteLength > 0) outgoing.write(bytes);
        outgoing.end();
        end("completed");
      });
      res.once("aborted", () => failMidStream());
      res.once("error", () => failMidStream());
    });

    upstream.once("error", (err) => {
      clearTimeout(headerTimer);
      if (life.ended) return;
      if (responded) return failMidStream();
      // No response started: the caller records this attempt (it may try a fallback).
      life.discard();
      // Rejected errors become a provider-shaped 502/504; never the upstream's text.
      reject(err instanceof UpstreamTimeout ? upstreamTimeoutError() : upstreamUnavailableError(err));
    });

    function failMidStream(failure: string = ANSWER_FAILURES.streamBroken, message?: string): void {
      // Ended first: destroying the upstream below fires its error/aborted events again.
      if (!end("upstream_failed", failure)) return;
      upstream.destroy();
      if (outgoing.writable && !outgoing.writableEnded) {
        // A framed stream drops its unterminated tail and ends with the provider's error event,
        // on an event boundary; anything else can only be cut (never half an event, then more).
        const bytes = client?.cut(message);
        if (bytes) outgoing.end(bytes);
        else outgoing.destroy();
      }
    }

    /** The client has not taken a byte for the write deadline: it is not reading, and nothing more can reach it. */
    function clientStalled(): void {
      if (!end("client_aborted", ANSWER_FAILURES.clientWriteTimeout)) return;
      upstream.destroy();
      // No error argument: the socket's 'error' would only be logged by the server as a client error.
      outgoing.destroy();
    }

    if (request.body && request.body.byteLength > 0) upstream.end(request.body);
    else upstream.end();
  });
}

interface Target {
  client: typeof http | typeof https;
  options: { protocol: string; hostname: string; port: string | number; agent: http.Agent };
  path: string;
}

// Upstream origins are few (one per provider): each is parsed once instead of per request.
function requestTarget(origins: Map<string, Target["options"] & { client: Target["client"] }>, agents: { http: http.Agent; https: http.Agent }, url: string): Target {
  const pathStart = url.indexOf("/", url.indexOf("//") + 2);
  const origin = pathStart === -1 ? url : url.slice(0, pathStart);
  const path = pathStart === -1 ? "/" : url.slice(pathStart);
  let known = origins.get(origin);
  if (!known) {
    const parsed = new URL(origin);
    const secure = parsed.protocol === "https:";
    known = { client: secure ? https : http, protocol: parsed.protocol, hostname: parsed.hostname.replace(/^\[|\]$/g, ""), port: parsed.port || (secure ? 443 : 80), agent: secure ? agents.https : agents.http };
    if (origins.size < 1000) origins.set(origin, known);
  }
  const { client, ...options } = known;
  return { client, options, path };
}
