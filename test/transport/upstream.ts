import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/**
 * The upstream the contract forwards to: one behaviour per path, each request known by its
 * x-test-id, with a promise for when its connection closed (the last event that could make
 * a transport end an answer twice).
 */
export const JSON_BODY = JSON.stringify({ id: "chatcmpl-1", choices: [{ message: { role: "assistant", content: "héllo wörld" } }] });
export const SSE_EVENTS = ['data: {"n":1}\n\n', 'data: {"n":2,"text":"ünïcödé"}\n\n', "data: [DONE]\n\n"];

/** The stream `/cut-at` sends (with `eol` LF, CRLF or CR terminators) and cuts inside. */
export const CUT_EVENTS = ['event: start\ndata: {"n":0}\n\n', 'data: {"n":1,"text":"ünïcödé 日本 🚀"}\n\n', ": keep-alive\n\n", 'event: delta\nid: 7\ndata: {"n":2,"text":"two lines"}\n\n', "data: [DONE]\n\n"];
export const cutStream = (eol: "\n" | "\r\n" | "\r"): string => CUT_EVENTS.join("").replaceAll("\n", eol);

export interface ContractUpstream {
  url: string;
  /** Resolves when the request with this id has been received. */
  received(id: string): Promise<void>;
  /** Resolves when the connection of the request with this id has closed. */
  closed(id: string): Promise<void>;
  close(): Promise<void>;
}

interface Seen {
  received: Promise<void>;
  markReceived: () => void;
  closed: Promise<void>;
  markClosed: () => void;
}

export async function startContractUpstream(): Promise<ContractUpstream> {
  const seen = new Map<string, Seen>();
  const entry = (id: string): Seen => {
    let e = seen.get(id);
    if (!e) {
      let markReceived = () => undefined as void;
      let markClosed = () => undefined as void;
      const received = new Promise<void>((resolve) => (markReceived = resolve));
      const closed = new Promise<void>((resolve) => (markClosed = resolve));
      e = { received, markReceived, closed, markClosed };
      seen.set(id, e);
    }
    return e;
  };
  const sockets = new Set<import("node:net").Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const id = String(req.headers["x-test-id"] ?? "");
    const e = entry(id);
    res.once("close", () => e.markClosed());
    req.resume();
    req.once("end", () => {
      e.markReceived();
      const url = new URL(req.url ?? "/", "http://x");
      if (url.pathname === "/cut-at") cutAt(url.searchParams, res);
      else behave(url.pathname, res);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    received: (id) => entry(id).received,
    closed: (id) => entry(id).closed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function behave(path: string, res: ServerResponse): void {
  const sse = { "content-type": "text/event-stream", "cache-control": "no-cache", "x-upstream": "sse" };
  switch (path) {
    case "/json":
      res.writeHead(200, { "content-type": "application/json", "x-upstream": "json", "x-request-id": "up-123" }).end(JSON_BODY);
      return;
    case "/rate-limited":
      // An upstream 429 relayed to the client: the tap is told its retry-after (a key pool cools the key for it).
      res.writeHead(429, { "content-type": "application/json", "retry-after": "7" }).end(JSON.stringify({ error: { message: "Rate limited" } }));
      return;
    case "/teapot":
      res.writeHead(418, { "content-type": "application/json", "x-upstream": "teapot" }).end(JSON.stringify({ error: { message: "I'm a teapot" } }));
      return;
    case "/unavailable":
      res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "overloaded" } }));
      return;
    case "/sse": {
      res.writeHead(200, sse);
      // One event per write, each after the previous one left: the transport sees several chunks.
      const write = (i: number): void => {
        if (i === SSE_EVENTS.length) return void res.end();
        res.write(SSE_EVENTS[i], () => setImmediate(() => write(i + 1)));
      };
      write(0);
      return;
    }
    case "/hold":
      // One event, then silence until the other side goes away.
      res.writeHead(200, sse);
      res.write(SSE_EVENTS[0]);
      return;
    case "/drip": {
      // An event every 50 ms until the other side goes away (a model still generating).
      res.writeHead(200, sse);
      res.write(SSE_EVENTS[0]);
      const timer = setInterval(() => res.write('data: {"drip":true}\n\n'), 50);
      res.once("close", () => clearInterval(timer));
      return;
    }
    case "/flood": {
      // As fast as the transport takes it, until it stops reading or goes away (bounded: 256 MiB).
      res.writeHead(200, sse);
      const chunk = `data: ${"x".repeat(64 * 1024 - 8)}\n\n`;
      let sent = 0;
      const pump = (): void => {
        while (!res.destroyed && sent < 256 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        if (!res.destroyed) res.end();
      };
      pump();
      return;
    }
    case "/cut":
      // One event, then the connection is cut (no terminating chunk).
      res.writeHead(200, sse);
      res.write(SSE_EVENTS[0], () => setImmediate(() => res.socket?.destroy()));
      return;
    case "/silent":
      // Never answers: the header deadline's case.
      return;
    default:
      res.writeHead(404).end();
  }
}

/**
 * `/cut-at?at=N&how=reset|end|hang&step=K&eol=lf|crlf|cr`: the first N bytes of the cut
 * stream, K bytes per write (each after the previous one left, so the transport sees
 * separate chunks), then the connection is reset, the body ended cleanly (a truncated
 * stream), or the upstream goes silent (the idle deadline's case).
 */
function cutAt(params: URLSearchParams, res: ServerResponse): void {
  const eol = params.get("eol") === "crlf" ? "\r\n" : params.get("eol") === "cr" ? "\r" : "\n";
  const bytes = Buffer.from(cutStream(eol));
  const at = Math.min(bytes.length, Number(params.get("at") ?? bytes.length));
  const step = Math.max(1, Number(params.get("step") ?? bytes.length));
  const how = params.get("how") ?? "reset";
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.flushHeaders();
  const write = (from: number): void => {
    if (from >= at) {
      if (how === "end") res.end();
      else if (how === "reset") setImmediate(() => res.socket?.destroy());
      return;
    }
    res.write(bytes.subarray(from, Math.min(at, from + step)), () => setImmediate(() => write(from + step)));
  };
  write(0);
}
