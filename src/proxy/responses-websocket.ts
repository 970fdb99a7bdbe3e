import type { Caller } from "../core/caller.ts";
import type { ClientInfo } from "../ledger/index.ts";
import { GatewayError, toGatewayError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import { setEndUser, shapeOf, type EndpointSpec, type JsonObject, type RequestShape } from "../providers/index.ts";
import { createMeteringTap, ledgerRow, type MeteringServices, type RequestRecord } from "./metering.ts";
import type { RequestListener, RequestObserver } from "./observer.ts";
import type { Admission, ProxyPolicy } from "./policy.ts";
import type { ProviderDescriptor } from "../providers/index.ts";
import type { ResponseTap } from "./transport.ts";
import type { Clock } from "../core/clock.ts";
import { describeError } from "../core/app.ts";
import { ANSWER_FAILURES, idleTimeoutMessage, SilenceTimer } from "./transport-lifecycle.ts";

/** One side of a relayed WebSocket, as the runtime adapter exposes it. */
export interface SocketPeer {
  send(text: string): void;
  close(code: number, reason: string): void;
}

/** What the adapter calls as frames arrive; the session decides what crosses. */
export interface RelaySession {
  fromClient(text: string): void;
  fromUpstream(text: string): void;
  /** The client's socket closed, or (`failure`) the adapter gave up on it (a write blocked past the deadline). */
  clientClosed(failure?: string): void;
  upstreamClosed(code: number, reason: string): void;
}

export interface ResponsesSocketOptions {
  provider: ProviderDescriptor;
  caller: Caller;
  /** The client and its session, from the handshake's headers: every response on the socket is theirs. */
  client: ClientInfo;
  /** The declared endpoint a `response.create` is governed as (POST /responses). */
  spec: EndpointSpec;
  policy: ProxyPolicy;
  /** Each response.create is one request to it: begin, identified, classified, admitted, attempted, ended. */
  observer: RequestObserver;
  metering: MeteringServices;
  /** The upstream's host, for the observer. */
  serverAddress?: string | undefined;
  clock: Clock;
  logger: Logger;
  /** A new request id per response (the ledger is keyed by it). */
  newRequestId(): string;
  maxMessageBytes: number;
  /**
   * Longest silence on the socket (no frame either way, GATEHOUSE_UPSTREAM_IDLE_TIMEOUT_MS):
   * with a response pending the upstream stalled, the client is told and the response ends
   * `upstream_idle_timeout`; with none, the idle connection is closed. Unset: no limit.
   */
  idleTimeoutMs?: number | undefined;
}

const TERMINAL = new Set(["response.completed", "response.failed", "response.incomplete"]);
const encoder = new TextEncoder();

/** The Responses API's error event, as its WebSocket mode sends it. */
function errorEvent(error: GatewayError): string {
  return JSON.stringify({ type: "error", status: error.status, error: { type: error.code === "budget_exceeded" || error.code === "rate_limited" ? "rate_limit_error" : "invalid_request_error", code: error.code, message: error.message, param: null } });
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

interface PendingResponse {
  tap: ResponseTap;
  requestId: string;
  /** response.created was seen: an `error` event is then followed by response.failed. */
  created: boolean;
}

/**
 * The Responses API over WebSocket (Codex's default transport): every `response.create`
 * is governed like a POST /responses (model check, ZDR and stored-state rules, budget
 * reservation, the caller's anonymous id), and every response is metered from its own
 * events into one ledger row. Client events the gateway does not know are refused with an
 * error event, never forwarded.
 */
export function createResponsesSocketSession(client: SocketPeer, upstream: SocketPeer, o: ResponsesSocketOptions): RelaySession {
  // Client frames are handled in order: admission is async, and order is the protocol.
  let queue: Promise<void> = Promise.resolve();
  const pending: PendingResponse[] = [];
  // Responses created on this connection: the only ones `previous_response_id` may name
  // (the provider keeps them in the connection's memory even with store: false).
  const ownResponses = new Set<string>();
  let closed = false;
  const idle = new SilenceTimer(o.idleTimeoutMs, () => {
    if (closed) return;
    closed = true;
    const ms = o.idleTimeoutMs ?? 0;
    const waiting = pending.length > 0;
    for (const p of pending.splice(0)) p.tap.onEnd("upstream_failed", ANSWER_FAILURES.idleTimeout);
    o.logger.info({ provider: o.provider.id, callerId: o.caller.id, waiting, idleMs: ms }, "websocket closed after the idle timeout");
    if (waiting) {
      // The upstream stalled mid-response: the client hears why before the close.
      client.send(errorEvent(new GatewayError("upstream_timeout", idleTimeoutMessage(ms))));
      client.close(1011, "upstream idle timeout");
    } else client.close(1000, "idle timeout");
    upstream.close(1000, "idle timeout");
  });
  idle.arm();

  const refuse = (err: unknown) => {
    const error = toGatewayError(err);
    if (error.code === "internal") o.logger.error({ provider: o.provider.id, callerId: o.caller.id, err: describeError(err) }, "websocket response.create failed");
    else o.logger.info({ provider: o.provider.id, callerId: o.caller.id, status: error.status, code: error.code, reason: error.message }, "websocket response.create refused");
    client.send(errorEvent(error));
  };

  async function admitCreate(event: JsonObject): Promise<void> {
    const requestId = o.newRequestId();
    const startedAt = o.clock.monotonic();
    const ts = o.clock.now();
    const record: RequestRecord = { requestId, ts, startedAt, caller: o.caller, provider: o.provider, clock: o.clock, client: o.client };
    const listener: RequestListener | undefined = o.observer.begin({ requestId, provider: o.provider, method: "POST", ts, startedAt });
    listener?.identified?.(o.caller);
    const { type: _type, ...body } = event;
    let shape: RequestShape | undefined;
    let admission: Admission;
    try {
      shape = shapeOf({ spec: o.spec, model: undefined, id: undefined }, [], body);
      shape = { ...shape, streaming: true };
      for (const field of ["store", "background", "conversation"] as const) {
        if (body[field] === true || (field === "conversation" && body[field] !== undefined && body[field] !== null)) {
          throw new GatewayError("forbidden", `"${field}" is not accepted: this gateway keeps no conversation state at the provider (one organisation key is shared by every caller).`);
        }
      }
      const previous = body["previous_response_id"];
      if (previous !== undefined && previous !== null && !(typeof previous === "string" && ownResponses.has(previous))) {
        throw new GatewayError("forbidden", `"previous_response_id" may only name a response created earlier on this connection.`);
      }
      body["store"] = false;
      listener?.classified?.(shape);
      admission = await o.policy.admit({ caller: o.caller, provider: o.provider, shape, body, requestId, path: "/v1/responses", bodyBytes: encoder.encode(JSON.stringify(body)).byteLength });
    } catch (err) {
      const error = toGatewayError(err);
      listener?.ended({ outcome: "not_forwarded", status: error.status, errorCode: error.code, error, row: ledgerRow(record, shape, error.status, "not_forwarded", error.code) });
      refuse(error);
      return;
    }
    listener?.admitted?.(admission);
    if (closed) {
      // The client left while it was being admitted: nothing was sent, the reservation is given back.
      listener?.ended({ outcome: "client_aborted", status: 0, errorCode: "client_closed", row: ledgerRow(record, shape, 0, "client_aborted", "client_closed") });
      return;
    }
    setEndUser(body, shape, o.caller.id);
    const model = admission.route?.model ?? shape.model;
    if (model !== undefined) body["model"] = model;
    // The forwarded body is what an estimate counts the prompt from if the response never completes.
    const forwarded = encoder.encode(JSON.stringify(body));
    const tap = createMeteringTap(record, { shape: { ...shape, model }, attempt: 1, requestedModel: shape.model, request: { body, bytes: forwarded.byteLength }, serverAddress: o.serverAddress }, o.metering, listener);
    listener?.requestBody?.(forwarded);
    tap.onResponse(200);
    pending.push({ tap, requestId, created: false });
    upstream.send(JSON.stringify({ type: "response.create", ...body }));
  }

  return {
    fromClient(text) {
      if (closed) return;
      idle.arm();
      if (text.length > o.maxMessageBytes) {
        refuse(new GatewayError("payload_too_large", `A WebSocket message may be at most ${o.maxMessageBytes} bytes.`));
        return;
      }
      let event: unknown;
      try {
        event = JSON.parse(text);
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
        refuse(new GatewayError("bad_request", "A WebSocket message must be one JSON event."));
        return;
      }
      if (!isObject(event) || event["type"] !== "response.create") {
        refuse(new GatewayError("bad_request", `Only response.create events are relayed by this gateway (got ${isObject(event) ? JSON.stringify(event["type"]) : "a non-object"}).`));
        return;
      }
      queue = queue.then(() => admitCreate(event)).catch((err: unknown) => refuse(err));
    },

    fromUpstream(text) {
      if (!closed) idle.arm();
      client.send(text);
      const head = pending[0];
      if (!head) return;
      let type: unknown;
      let responseId: unknown;
      try {
        const event: unknown = JSON.parse(text);
        if (isObject(event)) {
          type = event["type"];
          const response = event["response"];
          if (isObject(response)) responseId = response["id"];
        }
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
      }
      // The usage reader reads SSE; each WebSocket event is one SSE event's data.
      head.tap.onChunk(encoder.encode(`event: ${typeof type === "string" ? type : "message"}\ndata: ${text}\n\n`));
      if (type === "response.created" && typeof responseId === "string") {
        ownResponses.add(responseId);
        head.created = true;
      }
      if (typeof type === "string" && (TERMINAL.has(type) || (type === "error" && !head.created))) {
        pending.shift();
        head.tap.onEnd(type === "response.completed" ? "completed" : "upstream_failed", type === "response.completed" ? undefined : type.replace("response.", "upstream_"));
      }
    },

    clientClosed(failure) {
      closed = true;
      idle.stop();
      for (const p of pending.splice(0)) p.tap.onEnd("client_aborted", failure);
      upstream.close(1000, "client closed");
    },

    upstreamClosed(code, reason) {
      closed = true;
      idle.stop();
      for (const p of pending.splice(0)) p.tap.onEnd("upstream_failed", "upstream_closed");
      client.close(code === 1005 || code === 1006 ? 1011 : code, reason || "upstream closed");
    },
  };
}
