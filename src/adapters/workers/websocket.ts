import type { Context } from "hono";
import { GatewayError } from "../../core/errors.ts";
import type { RelaySession, SocketPeer, WebSocketTarget } from "../../proxy/index.ts";
import type { ExecutionContext } from "./bindings.ts";

/** The Workers additions to the WebSocket this adapter touches (declared here, like bindings.ts, instead of pulling in all of workers-types). */
interface WorkersWebSocket extends WebSocket {
  accept(): void;
}
type WebSocketPairConstructor = new () => { 0: WorkersWebSocket; 1: WorkersWebSocket };

/** Workers' global WebSocketPair, or undefined where the fetch transport runs elsewhere (Node in tests). */
export function webSocketPair(): WebSocketPairConstructor | undefined {
  const candidate = (globalThis as { WebSocketPair?: unknown }).WebSocketPair;
  return typeof candidate === "function" ? (candidate as WebSocketPairConstructor) : undefined;
}

/** Close codes a peer may not send (RFC 6455 §7.4.1): they only describe a connection that died. */
function sendableCode(code: number): number {
  return code === 1005 || code === 1006 || code === 1015 || code < 1000 || code > 4999 ? 1011 : code;
}

/**
 * The Workers side of a relayed WebSocket, the same relay as Node's (src/adapters/node/
 * websocket.ts; the session in src/proxy/responses-websocket.ts decides what crosses): the
 * upstream socket is opened first with fetch + `Upgrade: websocket` (a refused or unreachable
 * upstream is an HTTP error to the client, not an accepted socket that closes at once), then
 * a WebSocketPair answers the client's upgrade with 101. Frames are relayed as they come.
 * The socket's whole life is kept with `waitUntil`, and `afterEnd` (the ledger flush) runs
 * once both sides are closed. Workers give no backpressure signal on a WebSocket, so there is
 * no client-write deadline here; the session's idle deadline still applies.
 */
export async function acceptWorkersWebSocket(c: Context, target: WebSocketTarget, open: (client: SocketPeer, upstream: SocketPeer) => RelaySession, afterEnd: () => Promise<void>, ctx: ExecutionContext | undefined): Promise<Response> {
  const Pair = webSocketPair();
  if (!Pair) throw new GatewayError("bad_request", "This runtime cannot relay WebSockets: POST the request instead.");
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), target.timeoutMs);
  let answer: Response;
  try {
    answer = await fetch(target.url.replace(/^ws/, "http"), { headers: { ...target.headers, upgrade: "websocket" }, signal: abort.signal });
  } catch (err) {
    throw abort.signal.aborted ? new GatewayError("upstream_timeout", "The upstream provider did not answer in time.") : new GatewayError("upstream_unavailable", "The upstream provider could not be reached.", { cause: err });
  } finally {
    clearTimeout(timer);
  }
  const upstream = (answer as Response & { webSocket?: WorkersWebSocket | null }).webSocket;
  if (answer.status !== 101 || !upstream) {
    await answer.body?.cancel();
    throw new GatewayError("upstream_unavailable", `The upstream refused the WebSocket (HTTP ${answer.status}).`);
  }
  upstream.accept();
  const pair = new Pair();
  const client = pair[0];
  const server = pair[1];
  server.accept();

  // Either side closing ends the relay (the session closes the other): the rows are queued by
  // then and `afterEnd` flushes them. Waiting for the other side's close frame too would leave
  // workerd a promise that may never settle (it cancels such a request as hung).
  let settle: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (settle = resolve));
  const sideClosed = () => settle();
  ctx?.waitUntil(ended.then(afterEnd));

  const peer = (socket: WorkersWebSocket): SocketPeer => ({
    send: (text) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(text);
    },
    close: (code, reason) => {
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close(sendableCode(code), reason.slice(0, 120));
    },
  });
  const session = open(peer(server), peer(upstream));
  let clientDone = false;
  let upstreamDone = false;
  upstream.addEventListener("message", (event) => {
    // The Responses API sends JSON text frames only.
    if (typeof event.data === "string") session.fromUpstream(event.data);
  });
  server.addEventListener("message", (event) => {
    if (typeof event.data === "string") session.fromClient(event.data);
  });
  const upstreamEnded = (code: number, reason: string) => {
    if (upstreamDone) return;
    upstreamDone = true;
    session.upstreamClosed(code, reason);
    sideClosed();
  };
  const clientEnded = () => {
    if (clientDone) return;
    clientDone = true;
    session.clientClosed();
    sideClosed();
  };
  // A close frame received is answered with one (workerd leaves the close half-done otherwise,
  // and cancels the request as hung).
  const answerClose = (socket: WorkersWebSocket, code: number) => {
    if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CLOSING) socket.close(sendableCode(code), "closed");
  };
  upstream.addEventListener("close", (event) => {
    answerClose(upstream, event.code);
    upstreamEnded(event.code, event.reason);
  });
  upstream.addEventListener("error", () => upstreamEnded(1011, "upstream error"));
  server.addEventListener("close", (event) => {
    answerClose(server, event.code);
    clientEnded();
  });
  server.addEventListener("error", () => clientEnded());
  return new Response(null, { status: 101, webSocket: client } as ResponseInit);
}
