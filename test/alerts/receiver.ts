import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyWebhookSignature } from "../../src/alerts/index.ts";

/** One HTTP request the receiver got. */
export interface Delivery {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** What the receiver answered (0: it held the request and never answered). */
  answered: number;
  /** Signed deliveries: the signature check's verdict. */
  signature: "valid" | "invalid" | "unsigned";
}

export interface ReceiverOptions {
  /** The signing secret of the "signed" webhook: deliveries to /signed are verified with it. */
  secret: string;
  /** Answer 500 to the first N attempts of each event (by idempotency key), then 200. */
  failFirst?: number;
  /** Hold every request and never answer (a receiver that hangs). */
  hang?: boolean;
}

/**
 * A webhook receiver as an operator would write one: verifies the signature of /signed
 * deliveries (HMAC over timestamp + body, replay window), and accepts each event once by its
 * idempotency key (a repeat is answered 200 and not accepted again).
 */
export interface Receiver {
  url: string;
  deliveries: Delivery[];
  /** Accepted events per path: idempotency key -> parsed body. */
  accepted: Map<string, Map<string, unknown>>;
  /** Requests held open (hang mode). */
  held(): number;
  set(options: Partial<ReceiverOptions>): void;
  close(): Promise<void>;
}

export async function startReceiver(initial: ReceiverOptions): Promise<Receiver> {
  let options = { ...initial };
  const deliveries: Delivery[] = [];
  const accepted = new Map<string, Map<string, unknown>>();
  const attempts = new Map<string, number>();
  const holding = new Set<ServerResponse>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]));
        const path = req.url ?? "/";
        let signature: Delivery["signature"] = "unsigned";
        if (path === "/signed") signature = (await verifyWebhookSignature(options.secret, headers["x-gatehouse-signature"], body, Date.now())).ok ? "valid" : "invalid";
        const delivery: Delivery = { path, headers, body, answered: 0, signature };
        deliveries.push(delivery);
        if (options.hang) {
          holding.add(res);
          res.on("close", () => holding.delete(res));
          return;
        }
        if (signature === "invalid") return answer(res, delivery, 401);
        const key = headers["idempotency-key"] ?? "";
        const n = (attempts.get(`${path}|${key}`) ?? 0) + 1;
        attempts.set(`${path}|${key}`, n);
        if (n <= (options.failFirst ?? 0)) return answer(res, delivery, 500);
        const seen = accepted.get(path) ?? new Map<string, unknown>();
        accepted.set(path, seen);
        if (!seen.has(key)) seen.set(key, JSON.parse(body) as unknown);
        answer(res, delivery, 200);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    accepted,
    held: () => holding.size,
    set(next) {
      options = { ...options, ...next };
    },
    async close() {
      for (const res of holding) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function answer(res: ServerResponse, delivery: Delivery, status: number): void {
  delivery.answered = status;
  res.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "ok" : "no");
}

/** Accepted events of one type at one path. */
export function acceptedOfType(receiver: Receiver, path: string, type: string): unknown[] {
  return [...(receiver.accepted.get(path)?.values() ?? [])].filter((body) => {
    const b = body as { type?: string; text?: string };
    // The signed body names its type; a Slack message carries it in the context block.
    return b.type === type || JSON.stringify(body).includes(`${type} · evt_`);
  });
}
