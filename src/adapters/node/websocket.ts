import type { Context } from "hono";
import { upgradeWebSocket } from "@hono/node-server";
import WebSocket from "ws";
import { GatewayError } from "../../core/errors.ts";
import type { RelaySession, SocketPeer, WebSocketTarget } from "../../proxy/index.ts";
import { ANSWER_FAILURES } from "../../proxy/transport-lifecycle.ts";

/** Frames queued for a client past this many bytes start the client-write deadline. */
const STALLED_BYTES = 64 * 1024;

/** Close codes a peer may not send (RFC 6455 §7.4.1): they only describe a connection that died. */
function sendableCode(code: number): number {
  return code === 1005 || code === 1006 || code === 1015 || code < 1000 || code > 4999 ? 1011 : code;
}

/**
 * The Node side of a relayed WebSocket: the upstream connection is opened first (so a
 * refused or unreachable upstream is an HTTP error to the client, not an accepted socket
 * that closes at once), then the client's upgrade completes through @hono/node-server and
 * text frames cross through the session. Close and error events are taken from the `ws`
 * sockets directly: Node 20 has no global CloseEvent for the helper's own callbacks.
 */
export async function acceptNodeWebSocket(c: Context, target: WebSocketTarget, open: (client: SocketPeer, upstream: SocketPeer) => RelaySession): Promise<Response> {
  const upstream = new WebSocket(target.url, { headers: target.headers, perMessageDeflate: false, maxPayload: target.maxMessageBytes, handshakeTimeout: target.timeoutMs });
  await new Promise<void>((resolve, reject) => {
    upstream.once("open", () => resolve());
    upstream.once("unexpected-response", (_req, res) => {
      res.resume();
      reject(new GatewayError("upstream_unavailable", `The upstream refused the WebSocket (HTTP ${res.statusCode ?? 0}).`));
    });
    upstream.once("error", (err) => reject(new GatewayError("upstream_unavailable", "The upstream provider could not be reached.", { cause: err })));
  });
  const early: string[] = [];
  let session: RelaySession | undefined;
  const upstreamPeer: SocketPeer = {
    send: (text) => {
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
    },
    close: (code, reason) => upstream.close(sendableCode(code), reason.slice(0, 120)),
  };
  upstream.on("message", (data, isBinary) => {
    if (isBinary) return; // the Responses API sends JSON text frames only
    const text = Buffer.isBuffer(data) ? data.toString("utf8") : Array.isArray(data) ? Buffer.concat(data).toString("utf8") : Buffer.from(data).toString("utf8");
    if (session) session.fromUpstream(text);
    else early.push(text);
  });
  upstream.on("error", () => undefined); // followed by close, handled there
  const middleware = upgradeWebSocket(() => ({
    onOpen(_event, ws) {
      const raw = ws.raw as WebSocket | undefined;
      let stall: NodeJS.Timeout | undefined;
      // A client that stopped reading: its frames pile up unsent. Past the write deadline with
      // the pile still there, it is given up (its pending responses end client_aborted).
      const watchStall = () => {
        const writeMs = target.clientWriteTimeoutMs;
        if (writeMs === undefined || stall !== undefined || !raw || raw.bufferedAmount <= STALLED_BYTES) return;
        stall = setTimeout(() => {
          stall = undefined;
          if (raw.readyState !== WebSocket.OPEN) return;
          if (raw.bufferedAmount <= STALLED_BYTES) return;
          session?.clientClosed(ANSWER_FAILURES.clientWriteTimeout);
          raw.terminate();
        }, writeMs);
      };
      const clientPeer: SocketPeer = {
        send: (text) => {
          ws.send(text);
          watchStall();
        },
        close: (code, reason) => ws.close(sendableCode(code), reason.slice(0, 120)),
      };
      const current = open(clientPeer, upstreamPeer);
      session = current;
      for (const text of early.splice(0)) current.fromUpstream(text);
      upstream.on("close", (code, reason) => current.upstreamClosed(code, reason.toString("utf8")));
      raw?.on("close", () => {
        clearTimeout(stall);
        current.clientClosed();
      });
      raw?.on("error", () => undefined);
      if (upstream.readyState !== WebSocket.OPEN) current.upstreamClosed(1011, "upstream closed");
    },
    onMessage(event) {
      if (typeof event.data === "string") session?.fromClient(event.data);
    },
  }));
  // eslint-disable-next-line @typescript-eslint/no-unsafe-argument -- hono types the middleware's Context with an `any` env; this is the route's own Context
  const response = await middleware(c, () => Promise.resolve());
  if (!response) {
    upstream.close(1000, "no upgrade");
    throw new GatewayError("bad_request", "This endpoint is a WebSocket: send Upgrade: websocket.");
  }
  return response;
}
