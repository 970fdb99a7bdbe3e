import { Hono } from "hono";
import { GatewayError } from "../../src/core/errors.ts";
import { isRetrySignal, type ProxyTransport, type ResponseTap } from "../../src/proxy/index.ts";

/**
 * A minimal app around one ProxyTransport, the same module on every runtime (Node serves it
 * with @hono/node-server, workerd runs it bundled): `POST /forward` forwards to the upstream
 * the `x-forward` header describes, and records what the transport told its tap; `GET
 * /tap/:id` reads that record back. Only what the transport contract needs, nothing of the proxy.
 */
export interface ForwardPlan {
  upstream: string;
  streaming: boolean;
  headerTimeoutMs: number;
  idleTimeoutMs?: number;
  clientWriteTimeoutMs?: number;
  retryOn?: number[];
  /** When set, a stream cut writes this event (and an idle timeout writes `${streamErrorEvent}: <message>`). */
  streamErrorEvent?: string;
}

export type TapEvent = { type: "response"; status: number; retryAfter?: string } | { type: "chunk"; bytes: number } | { type: "end"; outcome: string; failure: string | undefined } | { type: "retry"; status: number } | { type: "rejected"; code: string };

export interface TapRecord {
  events: TapEvent[];
  /** Every chunk the tap saw, in order, as text. */
  seen: string;
}

export function createTransportHost(transport: ProxyTransport): Hono {
  const records = new Map<string, TapRecord>();
  const app = new Hono();
  app.get("/tap/:id", (c) => c.json(records.get(c.req.param("id")) ?? null));
  app.post("/forward", async (c) => {
    const id = c.req.header("x-test-id") ?? "";
    const plan = JSON.parse(c.req.header("x-forward") ?? "{}") as ForwardPlan;
    const record: TapRecord = { events: [], seen: "" };
    records.set(id, record);
    const decoder = new TextDecoder();
    const tap: ResponseTap = {
      onResponse: (status, retryAfter) => record.events.push(retryAfter === undefined ? { type: "response", status } : { type: "response", status, retryAfter }),
      onChunk: (chunk) => {
        record.events.push({ type: "chunk", bytes: chunk.byteLength });
        record.seen += decoder.decode(chunk, { stream: true });
      },
      onEnd: (outcome, failure) => record.events.push({ type: "end", outcome, failure }),
    };
    const body = await transport.readBody(c, 1_000_000, 10_000);
    try {
      const result = await transport.forward(c, { url: plan.upstream, method: "POST", headers: { "x-test-id": id, "content-type": "application/json", "accept-encoding": "identity" }, body }, tap, {
        responseHeaders: { "x-gateway": "contract" },
        headerTimeoutMs: plan.headerTimeoutMs,
        idleTimeoutMs: plan.idleTimeoutMs,
        clientWriteTimeoutMs: plan.clientWriteTimeoutMs,
        streaming: plan.streaming,
        // A streamed plan asked for Server-Sent Events: the answer is framed when it is one.
        sse: plan.streaming ? {} : undefined,
        retryOn: plan.retryOn ? (status) => (plan.retryOn ?? []).includes(status) : undefined,
        streamErrorEvent: plan.streamErrorEvent,
        streamErrorFor: plan.streamErrorEvent ? (message) => `${plan.streamErrorEvent}: ${message}` : undefined,
      });
      if (isRetrySignal(result)) {
        record.events.push({ type: "retry", status: result.status });
        return c.json({ retry: true, status: result.status }, 200);
      }
      return result;
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      record.events.push({ type: "rejected", code: err.code });
      return c.json({ error: { code: err.code, message: err.message } }, err.status as 502);
    }
  });
  return app;
}
