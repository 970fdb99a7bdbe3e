import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { answerText, hexId, nowSeconds, textPieces } from "./content.ts";
import { outputItemEvents, responseObject } from "./openai-responses.ts";
import { openAiResponsesTools, toolCallFor } from "./tool-calls.ts";
import type { Behaviour, RecordedRequest } from "./types.ts";
import { openAiResponsesUsage, resolveUsage } from "./usage.ts";

export interface ResponsesSocketOptions {
  key: string;
  nextBehaviour(): Behaviour;
  record(request: RecordedRequest): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The Responses API's WebSocket mode (`wss://api.openai.com/v1/responses`): Bearer auth on
 * the handshake, then each `response.create` client event is answered with the same
 * semantic events the SSE stream carries (`response.created` … `response.completed` with
 * usage), one JSON text frame each; a bad event gets an `error` event. A warm-up
 * (`generate: false`) is created and completed with no output and no tokens.
 */
export function attachResponsesWebSocket(server: Server, options: ResponsesSocketOptions): { close(): void } {
  const sockets = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? "/").split("?")[0];
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    options.record({ method: "GET", path: path ?? "/", rawPath: path ?? "/", search: "", headers, bodyText: "", receivedAt: Date.now() });
    if (path !== "/v1/responses") {
      socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    if (headers["authorization"] !== `Bearer ${options.key}`) {
      const body = JSON.stringify({ error: { message: "Incorrect API key provided.", type: "invalid_request_error", param: null, code: "invalid_api_key" } });
      socket.end(`HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => serve(ws, options));
  });
  return { close: () => sockets.close() };
}

function serve(ws: WebSocket, options: ResponsesSocketOptions): void {
  let chain: Promise<void> = Promise.resolve();
  ws.on("message", (data) => {
    // Each client event is recorded like a request: method "WS", its text as the body.
    options.record({ method: "WS", path: "/v1/responses", rawPath: "/v1/responses", search: "", headers: {}, bodyText: data.toString(), receivedAt: Date.now() });
    chain = chain.then(() => answer(ws, data.toString(), options.nextBehaviour())).catch(() => ws.terminate());
  });
}

async function answer(ws: WebSocket, text: string, behaviour: Behaviour): Promise<void> {
  let sequence = 0;
  const send = (type: string, fields: Record<string, unknown>) => {
    // failAfterEvents: the connection drops (no close frame) after that many events of this response.
    if (behaviour.failAfterEvents !== undefined && sequence === behaviour.failAfterEvents) {
      ws.terminate();
      throw new Error(`fake-upstream: WebSocket cut after ${sequence} events`);
    }
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type, ...fields, sequence_number: sequence++ }));
  };
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    send("error", { error: { type: "invalid_request_error", code: "invalid_json", message: "Invalid JSON.", param: null } });
    return;
  }
  const model = typeof event["model"] === "string" ? event["model"] : undefined;
  if (event["type"] !== "response.create" || model === undefined) {
    send("error", { error: { type: "invalid_request_error", code: "missing_required_parameter", message: "Missing required parameter: 'model'.", param: "model" } });
    return;
  }
  const usage = resolveUsage(behaviour.usage);
  const id = hexId("resp_", 25);
  const createdAt = nowSeconds();
  const answered = behaviour.model ?? model;
  const output = outputItemEvents(toolCallFor(behaviour, event, openAiResponsesTools), answerText(behaviour));
  const sendAll = (list: Array<[string, Record<string, unknown>]>) => {
    for (const [type, fields] of list) send(type, fields);
  };
  send("response.created", { response: responseObject(id, createdAt, answered, "in_progress", [], null) });
  if (event["generate"] === false) {
    // A warm-up (Codex sends one first): the request state is prepared, nothing is generated.
    send("response.completed", { response: responseObject(id, createdAt, answered, "completed", [], openAiResponsesUsage(resolveUsage({ input: 0, output: 0 }))) });
    return;
  }
  sendAll(output.added());
  const pieces = behaviour.endless ? Array.from({ length: 10_000 }, () => "x") : textPieces(output.streamedSource, behaviour.chunks);
  for (const piece of pieces) {
    if (ws.readyState !== ws.OPEN) return;
    if (behaviour.chunkDelayMs) await sleep(behaviour.chunkDelayMs);
    sendAll(output.delta(piece));
  }
  sendAll(output.done());
  send("response.completed", { response: responseObject(id, createdAt, answered, "completed", [output.item("completed")], openAiResponsesUsage(usage)) });
}
