import type { Context } from "hono";
import type { StreamOutcome } from "../store/index.ts";
import type { RelaySession, SocketPeer } from "./responses-websocket.ts";

/** Request line and headers as the runtime received them (header names lower-case). */
export interface IncomingHead {
  method: string;
  path: string;
  /** Query string including the leading "?", or "". */
  search: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface UpstreamRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
}

/** Observes the response as it passes; called synchronously from the byte path, so it must be cheap. */
export interface ResponseTap {
  /** The upstream's status as it starts reaching the client, with its `retry-after` (a key pool cools the key for it). */
  onResponse(status: number, retryAfter?: string): void;
  onChunk(chunk: Uint8Array): void;
  /**
   * Called exactly once when a response was started (never when forward rejects or
   * returns a RetrySignal). `failure` names what went wrong for the ledger, never upstream text.
   */
  onEnd(outcome: StreamOutcome, failure?: string): void;
}

export interface ForwardOptions {
  /** Rewrites response chunks on their way to the client (only the injected-usage filter uses it). */
  transform?: ChunkTransform | undefined;
  /**
   * The content type of a successful answer `transform` re-frames into another format (a
   * Bedrock event stream sent on as Anthropic's Server-Sent Events): the client is sent it,
   * and the answer is framed as it. Unset: the upstream's.
   */
  answerContentType?: string | undefined;
  /**
   * Rewrites an error answer's body (status 400 and up) on its way to the client; the status
   * stays the upstream's. An intermediary's own errors (Cloudflare AI Gateway's) become the
   * provider's error shape so the client's SDK can read them (src/proxy/ai-gateway.ts); a
   * cross-provider fallback's error becomes the client provider's (src/proxy/cross-provider-error.ts).
   */
  errorTransform?: ((status: number) => ChunkTransform | undefined) | undefined;
  /** The content type of an error answer `errorTransform` rewrote; unset: the upstream's. */
  errorContentType?: string | undefined;
  /** Headers the gateway adds to the client response. */
  responseHeaders: Record<string, string>;
  /**
   * The request asked for a Server-Sent Events stream: an answer that is one is framed on
   * event boundaries (src/proxy/client-stream.ts), so a break never leaves half an event.
   * `dropEvent` removes a complete event (the injected-usage chunk) on a successful answer.
   */
  sse?: { dropEvent?: ((event: Uint8Array) => boolean) | undefined } | undefined;
  /** Written to a framed client stream when the upstream breaks mid-stream, in the provider's format; unset: the connection is cut (a binary stream). */
  streamErrorEvent?: string | undefined;
  /** The same event with a message of the transport's choosing (a timeout says which one); falls back to `streamErrorEvent`. */
  streamErrorFor?: ((message: string) => string | undefined) | undefined;
  headerTimeoutMs: number;
  /**
   * Longest silence from the upstream once its headers arrived (no byte while the client
   * was keeping up): the stream ends with the provider's error event. Unset: no limit.
   */
  idleTimeoutMs?: number | undefined;
  /**
   * Longest time a write to the client may stay blocked (backpressure that never clears: a
   * client that stopped reading): the upstream is stopped and the connection closed. Unset: no limit.
   */
  clientWriteTimeoutMs?: number | undefined;
  /** Streams send their headers at once (the client sees the stream open); JSON answers send them with the body. */
  streaming: boolean;
  /**
   * When set and true for the upstream's status, nothing is sent to the client: the
   * upstream answer is discarded and forward resolves with a RetrySignal (fallback routing).
   */
  retryOn?: ((status: number) => boolean) | undefined;
}

/** `onEnd` failure for an attempt the client left before it was sent: nothing reached the provider, nothing to bill. */
export const FAILURE_NOT_SENT = "client_aborted_before_send";

/** Returned by forward instead of a Response when `retryOn` matched. */
export interface RetrySignal {
  retry: true;
  status: number;
  /** The discarded answer's `retry-after`, for the key pool's cooldown. */
  retryAfter?: string | undefined;
}

export function isRetrySignal(value: Response | RetrySignal): value is RetrySignal {
  return (value as RetrySignal).retry === true;
}

export interface ChunkTransform {
  transform(chunk: Uint8Array): Uint8Array;
  flush(): Uint8Array;
}

/**
 * The byte-moving part of the proxy is a runtime port: node:http streams on Node, fetch
 * and ReadableStream on Workers. Everything else (auth, rewriting, metering) is shared.
 */
export interface ProxyTransport {
  head(c: Context): IncomingHead;
  /**
   * Reads the whole request body; rejects with GatewayError payload_too_large past `limit`,
   * and request_timeout (408) when it has not all arrived within `deadlineMs`.
   */
  readBody(c: Context, limit: number, deadlineMs?: number): Promise<Uint8Array>;
  /**
   * Sends the request and streams the answer to the client. Resolves with the Response
   * the framework should return (a marker when the adapter already wrote it); rejects with
   * a GatewayError when the upstream could not be reached or timed out before answering.
   */
  forward(c: Context, request: UpstreamRequest, tap: ResponseTap, options: ForwardOptions): Promise<Response | RetrySignal>;
  /**
   * Opens a WebSocket to the upstream (rejecting with a GatewayError when it cannot), then
   * completes the client's upgrade and relays text frames through the session `open`
   * returns. Runtimes without WebSocket support leave it out; the endpoint is then refused.
   */
  acceptWebSocket?(c: Context, upstream: WebSocketTarget, open: (client: SocketPeer, upstream: SocketPeer) => RelaySession): Promise<Response>;
}

/** The upstream end of a relayed WebSocket, and the limits the adapter keeps. */
export interface WebSocketTarget {
  /** ws: or wss: URL of the upstream endpoint. */
  url: string;
  /** Handshake headers (the real key included). */
  headers: Record<string, string>;
  /** Longest wait for the upstream's handshake. */
  timeoutMs: number;
  maxMessageBytes: number;
  /** Longest time frames to the client may stay unsent (a client that stopped reading); where the runtime can tell. Unset: no limit. */
  clientWriteTimeoutMs?: number | undefined;
}
