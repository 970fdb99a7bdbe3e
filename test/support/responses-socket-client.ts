import WebSocket from "ws";

/** A Responses API WebSocket client as Codex opens one: Bearer token and the beta header on the handshake. */
export interface SocketClient {
  ws: WebSocket;
  events: Array<Record<string, unknown>>;
  /** The next event of this type not yet taken (one already received, or the next to come). */
  next(type: string): Promise<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
}

export async function connectResponsesSocket(url: string, token: string): Promise<SocketClient> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}`, "openai-beta": "responses_websockets=2026-02-06" } });
  const events: Array<Record<string, unknown>> = [];
  const taken = new WeakSet<object>();
  const waiters: Array<{ type: string; resolve(e: Record<string, unknown>): void }> = [];
  ws.on("message", (data) => {
    const event = JSON.parse(data.toString()) as Record<string, unknown>;
    events.push(event);
    const index = waiters.findIndex((w) => w.type === event["type"]);
    if (index !== -1) {
      taken.add(event);
      waiters.splice(index, 1)[0]?.resolve(event);
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => reject(new Error(`handshake refused: ${res.statusCode ?? 0}`)));
    ws.once("error", reject);
  });
  return {
    ws,
    events,
    closed,
    next: (type) => {
      const seen = events.find((e) => e["type"] === type && !taken.has(e));
      if (seen) {
        taken.add(seen);
        return Promise.resolve(seen);
      }
      return new Promise((resolve) => waiters.push({ type, resolve }));
    },
  };
}

export const responseCreate = (fields: Record<string, unknown>): string => JSON.stringify({ type: "response.create", input: [{ role: "user", content: [{ type: "input_text", text: "hi" }] }], ...fields });
