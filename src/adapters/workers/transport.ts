import type { Context } from "hono";
import { GatewayError } from "../../core/errors.ts";
import {
  ANSWER_FAILURES,
  AnswerLifecycle,
  idleTimeoutMessage,
  requestBodyTimeoutError,
  requestBodyTooLargeError,
  requestBodyUnreadableError,
  TIMED_OUT,
  UpstreamTimeout,
  upstreamTimeoutError,
  upstreamUnavailableError,
  withDeadline,
} from "../../proxy/transport-lifecycle.ts";
import { filterResponseHeaders, type ForwardOptions, type IncomingHead, type ProxyTransport, type ResponseTap, type RetrySignal, type UpstreamRequest } from "../../proxy/index.ts";
import type { ExecutionContext } from "./bindings.ts";
import { createClientStream } from "../../proxy/client-stream.ts";
import { acceptWorkersWebSocket, webSocketPair } from "./websocket.ts";

export interface FetchTransportOptions {
  /**
   * Runs after a forwarded response has ended (its ledger row recorded), kept alive with
   * `ctx.waitUntil`: on Workers nothing may run after the response unless it is waited on.
   */
  afterResponse: () => Promise<void>;
}

/**
 * The proxy's byte path on Workers: global fetch to the upstream, and a pump that reads
 * each upstream chunk, shows it to the usage tap and writes it into an identity
 * TransformStream that is the client's body. Each chunk is handed on as soon as it arrives
 * (nothing is collected), the client's pace holds the pump (backpressure), and a client
 * that goes away aborts the upstream fetch.
 */
export function createFetchTransport(options: FetchTransportOptions): ProxyTransport {
  return {
    // The Responses API's WebSocket mode, where the runtime has WebSocketPair (workerd; not Node).
    acceptWebSocket: webSocketPair() ? (c, target, open) => acceptWorkersWebSocket(c, target, open, options.afterResponse, executionContext(c)) : undefined,
    head(c: Context): IncomingHead {
      const url = new URL(c.req.raw.url);
      const headers: Record<string, string> = {};
      c.req.raw.headers.forEach((value, name) => {
        headers[name] = value;
      });
      return { method: c.req.raw.method, path: url.pathname, search: url.search, headers };
    },

    async readBody(c: Context, limit: number, deadlineMs?: number): Promise<Uint8Array> {
      const declared = Number(c.req.raw.headers.get("content-length") ?? NaN);
      if (declared > limit) throw requestBodyTooLargeError(limit);
      const body = c.req.raw.body;
      if (!body) return new Uint8Array(0);
      const reader = body.getReader();
      const chunks: Uint8Array[] = [];
      let size = 0;
      // A body trickled in (1 byte/s) would hold the request forever: one deadline for all of it.
      const deadline = deadlineMs === undefined ? undefined : Date.now() + deadlineMs;
      try {
        for (;;) {
          const next = await withDeadline(reader.read(), deadline === undefined ? undefined : deadline - Date.now());
          if (next === TIMED_OUT) {
            await reader.cancel();
            throw requestBodyTimeoutError(deadlineMs ?? 0);
          }
          const { done, value } = next;
          if (done) break;
          size += value.byteLength;
          if (size > limit) {
            await reader.cancel();
            throw requestBodyTooLargeError(limit);
          }
          chunks.push(value);
        }
      } catch (err) {
        if (err instanceof GatewayError) throw err;
        throw requestBodyUnreadableError(err);
      }
      if (chunks.length === 1) return chunks[0] as Uint8Array;
      const out = new Uint8Array(size);
      let offset = 0;
      for (const chunk of chunks) {
        out.set(chunk, offset);
        offset += chunk.byteLength;
      }
      return out;
    },

    async forward(c: Context, request: UpstreamRequest, tap: ResponseTap, forwardOptions: ForwardOptions): Promise<Response | RetrySignal> {
      const abort = new AbortController();
      const headerTimer = setTimeout(() => abort.abort(new UpstreamTimeout()), forwardOptions.headerTimeoutMs);
      let upstream: Response;
      try {
        upstream = await fetch(request.url, {
          method: request.method,
          headers: request.headers,
          body: request.body && request.body.byteLength > 0 ? (request.body as Uint8Array<ArrayBuffer>) : null,
          redirect: "manual",
          signal: abort.signal,
        });
      } catch (err) {
        const timedOut = abort.signal.aborted && abort.signal.reason instanceof UpstreamTimeout;
        throw timedOut ? upstreamTimeoutError() : upstreamUnavailableError(err);
      } finally {
        clearTimeout(headerTimer);
      }

      const status = upstream.status;
      if (forwardOptions.retryOn?.(status)) {
        await upstream.body?.cancel();
        return { retry: true, status, retryAfter: upstream.headers.get("retry-after") ?? undefined };
      }
      tap.onResponse(status, upstream.headers.get("retry-after") ?? undefined);

      let settle: () => void = () => undefined;
      const ended = new Promise<void>((resolve) => {
        settle = resolve;
      });
      const life = new AnswerLifecycle(tap, () => settle());
      const end = (outcome: "completed" | "client_aborted" | "upstream_failed", failure?: string) => life.end(outcome, failure);
      executionContext(c)?.waitUntil(ended.then(options.afterResponse));

      const transform = status < 400 ? forwardOptions.transform : forwardOptions.errorTransform?.(status);
      const raw: Record<string, string> = {};
      upstream.headers.forEach((value, name) => {
        raw[name] = value;
      });
      const reframedAs = transform ? (status < 400 ? forwardOptions.answerContentType : forwardOptions.errorContentType) : undefined;
      if (reframedAs !== undefined) raw["content-type"] = reframedAs;
      const client = createClientStream(forwardOptions, status, raw["content-type"], transform);
      // A framed stream may drop an event or end in an error event: its length is not the upstream's.
      const filtered = filterResponseHeaders(raw, transform !== undefined || client.framed);
      const headers = new Headers();
      for (const [name, value] of Object.entries(filtered)) {
        if (Array.isArray(value)) for (const v of value) headers.append(name, v);
        else headers.set(name, value);
      }
      for (const [name, value] of Object.entries(forwardOptions.responseHeaders)) headers.set(name, value);
      // The upstream answered uncompressed (the proxy asks for identity); saying so keeps the
      // edge from compressing, which would hold chunks back to fill compression blocks.
      if (!headers.has("content-encoding")) headers.set("content-encoding", "identity");

      const source = upstream.body;
      if (!source) {
        end("completed");
        return new Response(null, { status, headers });
      }
      const reader = source.getReader();
      // An identity TransformStream: the runtime's native byte pipe to the client. Each
      // write resolves once the client side took the chunk, which is the backpressure.
      const pipe = new TransformStream<Uint8Array, Uint8Array>();
      const writer = pipe.writable.getWriter();
      const clientGone = () => {
        // The client went away: stop the upstream so it stops generating (and billing).
        if (end("client_aborted")) abort.abort();
      };
      writer.closed.then(undefined, clientGone);

      const failMidStream = async (failure: string, err: unknown, message?: string): Promise<void> => {
        if (!end("upstream_failed", failure)) return;
        // A framed stream drops its unterminated tail and ends with the provider's error event,
        // on an event boundary; anything else can only be cut (never half an event, then more).
        const bytes = client.cut(message);
        if (bytes) {
          await writer.write(bytes);
          await writer.close();
        } else await writer.abort(err);
      };
      const idleMs = forwardOptions.idleTimeoutMs;
      const writeMs = forwardOptions.clientWriteTimeoutMs;
      const pump = async (): Promise<void> => {
        for (;;) {
          let result: ReadableStreamReadResult<Uint8Array> | typeof TIMED_OUT;
          try {
            // The upstream's silence is timed per read; the pump reads only once the client took the last chunk.
            result = await withDeadline(reader.read(), idleMs);
          } catch (err) {
            await failMidStream(ANSWER_FAILURES.streamBroken, err);
            return;
          }
          if (result === TIMED_OUT) {
            abort.abort(new UpstreamTimeout());
            await failMidStream(ANSWER_FAILURES.idleTimeout, undefined, idleTimeoutMessage(idleMs ?? 0));
            return;
          }
          if (result.done) {
            const { bytes, failure } = client.end();
            if (failure !== undefined) {
              // The body ended inside an event: the held tail is dropped, the error event ends the stream.
              if (!end("upstream_failed", failure)) return;
              if (bytes === undefined) await writer.abort(new Error("upstream stream truncated"));
              else {
                await writer.write(bytes);
                await writer.close();
              }
              return;
            }
            if (bytes && bytes.byteLength > 0) await writer.write(bytes);
            await writer.close();
            end("completed");
            return;
          }
          tap.onChunk(result.value);
          const out = client.push(result.value);
          if (out.byteLength === 0) continue;
          // A client that stopped reading holds the write forever: past the deadline it is gone.
          if ((await withDeadline(writer.write(out), writeMs)) === TIMED_OUT) {
            end("client_aborted", ANSWER_FAILURES.clientWriteTimeout);
            abort.abort();
            await writer.abort(new Error("client write timeout"));
            return;
          }
        }
      };
      const pumping = pump().catch(async (err: unknown) => {
        // A write failed: the client is gone. Anything else is a bug worth a log line.
        clientGone();
        await reader.cancel(err).catch((cancelErr: unknown) => {
          if (!abort.signal.aborted) throw cancelErr;
        });
      });
      executionContext(c)?.waitUntil(pumping);
      return new Response(pipe.readable, { status, headers });
    },
  };
}

function executionContext(c: Context): ExecutionContext | undefined {
  try {
    return c.executionCtx;
  } catch (err) {
    // Hono throws when the runtime gave no context (only in tests that call app.fetch bare).
    if (err instanceof Error) return undefined;
    throw err;
  }
}
