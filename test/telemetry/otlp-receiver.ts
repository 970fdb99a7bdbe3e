import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local OTLP/HTTP trace receiver: accepts `POST /v1/traces` with the JSON encoding of an
 * ExportTraceServiceRequest (what @opentelemetry/exporter-trace-otlp-http sends), decodes it
 * by the OTLP/JSON rules (hex ids, int64 as number or string, `kind`/`status.code` as the
 * proto enums) and keeps the spans, the raw bodies and the request headers.
 */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: "internal" | "server" | "client" | "producer" | "consumer" | "unspecified";
  status: { code: "unset" | "ok" | "error"; message: string | undefined };
  attributes: Record<string, string | number | boolean>;
  resource: Record<string, string | number | boolean>;
  startNs: bigint;
  endNs: bigint;
}

export interface OtlpReceiver {
  /** Base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  spans: ReceivedSpan[];
  /** Every request body as received, to search for what must never be exported. */
  rawBodies: string[];
  requests: Array<{ method: string; path: string; headers: Record<string, string> }>;
  /** Answer the next exports with this status (e.g. 503) until reset with 200. */
  failWith(status: number): void;
  /** Resolves once `predicate` holds over the spans received so far (polls on each export, no sleeps). */
  waitFor(predicate: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

const KINDS = ["unspecified", "internal", "server", "client", "producer", "consumer"] as const;
const STATUS = ["unset", "ok", "error"] as const;

interface JsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: JsonAnyValue[] };
}
interface JsonKeyValue {
  key: string;
  value: JsonAnyValue;
}
interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: JsonKeyValue[];
  status?: { code?: number; message?: string };
}
interface JsonExportRequest {
  resourceSpans?: Array<{ resource?: { attributes?: JsonKeyValue[] }; scopeSpans?: Array<{ spans?: JsonSpan[] }> }>;
}

function scalar(value: JsonAnyValue): string | number | boolean {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return JSON.stringify((value.arrayValue.values ?? []).map(scalar));
  throw new Error(`otlp-receiver: unsupported attribute value ${JSON.stringify(value)}`);
}

function attributes(list: JsonKeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) out[key] = scalar(value);
  return out;
}

function isHex(text: string, length: number): boolean {
  return text.length === length && /^[0-9a-f]+$/.test(text);
}

/** Decodes one export; throws on anything the OTLP/JSON encoding does not allow (the test then sees a 400). */
export function decodeExport(body: string): ReceivedSpan[] {
  const request = JSON.parse(body) as JsonExportRequest;
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of request.resourceSpans ?? []) {
    const resource = attributes(resourceSpans.resource?.attributes);
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        if (!isHex(span.traceId, 32) || !isHex(span.spanId, 16)) throw new Error(`otlp-receiver: ids must be lower-case hex, got ${span.traceId}/${span.spanId}`);
        const parent = span.parentSpanId ? span.parentSpanId : undefined;
        if (parent !== undefined && !isHex(parent, 16)) throw new Error(`otlp-receiver: bad parentSpanId ${parent}`);
        spans.push({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: parent,
          name: span.name,
          kind: KINDS[span.kind ?? 0] ?? "unspecified",
          status: { code: STATUS[span.status?.code ?? 0] ?? "unset", message: span.status?.message || undefined },
          attributes: attributes(span.attributes),
          resource,
          startNs: BigInt(span.startTimeUnixNano),
          endNs: BigInt(span.endTimeUnixNano),
        });
      }
    }
  }
  return spans;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const rawBodies: string[] = [];
  const requests: OtlpReceiver["requests"] = [];
  const waiters = new Set<() => void>();
  let failStatus = 200;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    requests.push({ method: req.method ?? "", path: req.url ?? "", headers });
    if (req.method !== "POST" || req.url !== "/v1/traces") {
      res.writeHead(404, { "content-type": "application/json" }).end("{}");
      return;
    }
    if (!(headers["content-type"] ?? "").startsWith("application/json")) {
      res.writeHead(415, { "content-type": "application/json" }).end(JSON.stringify({ code: 3, message: "this receiver decodes application/json only" }));
      return;
    }
    if (failStatus !== 200) {
      res.writeHead(failStatus, { "content-type": "application/json" }).end("{}");
      return;
    }
    rawBodies.push(body);
    let decoded: ReceivedSpan[];
    try {
      decoded = decodeExport(body);
    } catch (err) {
      res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ code: 3, message: err instanceof Error ? err.message : String(err) }));
      return;
    }
    spans.push(...decoded);
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
    for (const wake of [...waiters]) wake();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      console.error("otlp-receiver: handler failed", err);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    rawBodies,
    requests,
    failWith(status) {
      failStatus = status;
    },
    waitFor(predicate, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          if (!predicate(spans)) return false;
          waiters.delete(wake);
          clearTimeout(timer);
          resolve([...spans]);
          return true;
        };
        const wake = (): void => void check();
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`otlp-receiver: condition not met within ${timeoutMs} ms; received ${spans.length} spans: ${spans.map((s) => s.name).join(", ")}`));
        }, timeoutMs);
        waiters.add(wake);
        check();
      });
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
