import { connect, type AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeTransport } from "../../src/adapters/node/transport.ts";
import { createFetchTransport } from "../../src/adapters/workers/transport.ts";
import { WORKER_COMPATIBILITY_DATE } from "../scale/workerd.ts";
import { createTransportHost, type ForwardPlan, type TapEvent, type TapRecord } from "./host-app.ts";
import { cutStream, JSON_BODY, SSE_EVENTS, startContractUpstream, type ContractUpstream } from "./upstream.ts";
import { readWithEventSourceParser } from "../support/stream-clients.ts";

/**
 * One contract, three hosts: the Node transport (node:http) and the Workers transport (fetch +
 * TransformStream) each served from this process by @hono/node-server, and the Workers
 * transport again inside workerd (Miniflare), bundled the way wrangler bundles a Worker. Every
 * case runs unchanged against each: what the client receives, and what the tap was told.
 */

interface Host {
  name: string;
  url: string;
  close(): Promise<void>;
}

let upstream: ContractUpstream;
const hosts: Record<string, Host> = {};

function serveOnNode(name: string, app: { fetch: (req: Request, env?: unknown) => Response | Promise<Response> }): Promise<Host> {
  return new Promise((resolve) => {
    const server: ServerType = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info: AddressInfo) => {
      resolve({ name, url: `http://127.0.0.1:${info.port}`, close: () => new Promise<void>((done) => server.close(() => done())) });
    });
  });
}

async function serveOnWorkerd(): Promise<Host> {
  const bundle = await build({
    entryPoints: [new URL("./workerd-host.ts", import.meta.url).pathname],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser", "import", "default"],
    mainFields: ["module", "main"],
    logLevel: "silent",
  });
  const script = bundle.outputFiles[0]?.text;
  if (!script) throw new Error("esbuild produced no bundle for the workerd transport host");
  const mf = new Miniflare({ modules: true, script, compatibilityDate: WORKER_COMPATIBILITY_DATE, host: "127.0.0.1", port: 0 });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return { name: "Workers transport in workerd", url, close: () => mf.dispose() };
}

beforeAll(async () => {
  upstream = await startContractUpstream();
  const [node, fetchOnNode, workerd] = await Promise.all([
    serveOnNode("Node transport", createTransportHost(createNodeTransport({ maxSockets: 16 }))),
    serveOnNode("Workers transport on Node", createTransportHost(createFetchTransport({ afterResponse: async () => undefined }))),
    serveOnWorkerd(),
  ]);
  Object.assign(hosts, { node, fetchOnNode, workerd });
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(hosts).map((h) => h.close()));
  await upstream?.close();
});

let nextId = 0;

function forward(host: Host, path: string, plan: Partial<ForwardPlan> = {}, signal?: AbortSignal): { id: string; response: Promise<Response> } {
  const id = `t${process.pid}-${nextId++}`;
  const full: ForwardPlan = { upstream: `${upstream.url}${path}`, streaming: path !== "/json" && path !== "/teapot", headerTimeoutMs: 20_000, ...plan };
  const response = fetch(`${host.url}/forward`, { method: "POST", headers: { "x-test-id": id, "x-forward": JSON.stringify(full), "content-type": "application/json" }, body: '{"model":"m"}', ...(signal ? { signal } : {}) });
  return { id, response };
}

async function tapOf(host: Host, id: string): Promise<TapRecord> {
  const res = await fetch(`${host.url}/tap/${id}`);
  const record = (await res.json()) as TapRecord | null;
  if (!record) throw new Error(`the host has no tap record for ${id}`);
  return record;
}

const ends = (events: readonly TapEvent[]) => events.filter((e) => e.type === "end");

/**
 * The tap's record once the answer is over: after the end (or retry/rejection) was recorded
 * AND the upstream connection closed, the last event that could end it a second time.
 * Waits on events, with a generous deadline that ends early.
 */
async function settled(host: Host, id: string): Promise<TapRecord> {
  await upstream.closed(id);
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    const record = await tapOf(host, id);
    if (record.events.some((e) => e.type === "end" || e.type === "retry" || e.type === "rejected")) {
      // One more look after the host has had another turn: a second end would show now.
      await new Promise((r) => setTimeout(r, 50));
      return tapOf(host, id);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no end was recorded for ${id} on ${host.name}`);
}

const hostNames = [
  { key: "node", label: "Node transport" },
  { key: "fetchOnNode", label: "Workers transport, run in Node" },
  { key: "workerd", label: "Workers transport, run in workerd" },
];

// Real sockets and workerd: generous per-test time on a loaded 2-core machine.
describe.each(hostNames)("transport contract: $label", { timeout: 60_000 }, ({ key }) => {
  const host = () => hosts[key] as Host;

  it("passes status, headers and bytes unchanged, and ends once as completed (JSON)", async () => {
    const { id, response } = forward(host(), "/json");
    const res = await response;
    expect(res.status).toBe(200);
    expect(res.headers.get("x-upstream")).toBe("json");
    expect(res.headers.get("x-request-id")).toBe("up-123");
    expect(res.headers.get("x-gateway")).toBe("contract");
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.text()).toBe(JSON_BODY);
    const record = await settled(host(), id);
    expect(record.events[0]).toEqual({ type: "response", status: 200 });
    expect(record.seen).toBe(JSON_BODY);
    expect(ends(record.events)).toEqual([{ type: "end", outcome: "completed" }]);
    expect(record.events.at(-1)?.type).toBe("end");
  });

  it("passes an upstream error status and body through unchanged", async () => {
    const { id, response } = forward(host(), "/teapot");
    const res = await response;
    expect(res.status).toBe(418);
    expect(res.headers.get("x-upstream")).toBe("teapot");
    expect(await res.json()).toEqual({ error: { message: "I'm a teapot" } });
    const record = await settled(host(), id);
    expect(record.events[0]).toEqual({ type: "response", status: 418 });
    expect(ends(record.events)).toEqual([{ type: "end", outcome: "completed" }]);
  });

  it("a 429 that reaches the client: the tap is told its status with its retry-after", async () => {
    const { id, response } = forward(host(), "/rate-limited");
    const res = await response;
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("7");
    expect(await res.json()).toEqual({ error: { message: "Rate limited" } });
    const record = await settled(host(), id);
    expect(record.events[0]).toStrictEqual({ type: "response", status: 429, retryAfter: "7" });
  });

  it("streams every event unchanged and ends once as completed", async () => {
    const { id, response } = forward(host(), "/sse");
    const res = await response;
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(await res.text()).toBe(SSE_EVENTS.join(""));
    const record = await settled(host(), id);
    expect(record.seen).toBe(SSE_EVENTS.join(""));
    expect(ends(record.events)).toEqual([{ type: "end", outcome: "completed" }]);
  });

  it("a client that goes away ends the answer once as client_aborted and stops the upstream", async () => {
    const abort = new AbortController();
    // The upstream keeps generating: workerd notices a gone client at the next write (see the report in docs/architecture.md).
    const { id, response } = forward(host(), "/drip", {}, abort.signal);
    const res = await response;
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe(SSE_EVENTS[0]);
    abort.abort();
    // settled() waits for the upstream's connection to close: the transport stopped it.
    const record = await settled(host(), id);
    expect(ends(record.events)).toEqual([{ type: "end", outcome: "client_aborted" }]);
  });

  it("a client that goes away while the upstream is silent: the answer still ends exactly once", async () => {
    const abort = new AbortController();
    const { id, response } = forward(host(), "/hold", { idleTimeoutMs: 1_500, streamErrorEvent: "event: error" }, abort.signal);
    const res = await response;
    await (res.body as ReadableStream<Uint8Array>).getReader().read();
    abort.abort();
    const record = await settled(host(), id);
    // Node sees the socket close at once. workerd (local Miniflare) tells the Worker only at
    // its next write, which a silent upstream never causes: the idle deadline ends it there.
    const expected = key === "workerd" ? { type: "end", outcome: "upstream_failed", failure: "upstream_idle_timeout" } : { type: "end", outcome: "client_aborted" };
    expect(ends(record.events)).toEqual([expected]);
  });

  it("a client that stops reading is given up at the client-write deadline: client_aborted once, upstream stopped", async () => {
    const id = `t${process.pid}-${nextId++}`;
    const plan: ForwardPlan = { upstream: `${upstream.url}/flood`, streaming: true, headerTimeoutMs: 20_000, clientWriteTimeoutMs: 500 };
    const target = new URL(host().url);
    // A raw socket that sends the request and never reads a byte of the answer.
    const socket = connect(Number(target.port), target.hostname);
    socket.pause();
    socket.on("error", () => undefined);
    const body = "{}";
    socket.write(`POST /forward HTTP/1.1\r\nhost: ${target.host}\r\nx-test-id: ${id}\r\nx-forward: ${JSON.stringify(plan)}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    try {
      const record = await settled(host(), id);
      expect(ends(record.events)).toEqual([{ type: "end", outcome: "client_aborted", failure: "client_write_timeout" }]);
    } finally {
      socket.destroy();
    }
  });

  it("an upstream cut mid-stream ends once as upstream_failed and writes the error event to the client", async () => {
    const { id, response } = forward(host(), "/cut", { streamErrorEvent: "event: error" });
    const res = await response;
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toBe(`${SSE_EVENTS[0]}event: error`);
    const record = await settled(host(), id);
    expect(ends(record.events)).toEqual([{ type: "end", outcome: "upstream_failed", failure: "upstream_stream_broken" }]);
  });

  it("an upstream silent past the idle limit ends once as upstream_failed with the idle failure, the client told why", async () => {
    const { id, response } = forward(host(), "/hold", { idleTimeoutMs: 300, streamErrorEvent: "event: error" });
    const res = await response;
    const text = await res.text();
    expect(text).toBe(`${SSE_EVENTS[0]}event: error: The upstream provider sent nothing for 300 ms; the answer is incomplete (GATEHOUSE_UPSTREAM_IDLE_TIMEOUT_MS).`);
    const record = await settled(host(), id);
    expect(ends(record.events)).toEqual([{ type: "end", outcome: "upstream_failed", failure: "upstream_idle_timeout" }]);
  });

  describe("event-boundary framing: an upstream cut inside an event never reaches the client as half an event", () => {
    const ERROR_EVENT = 'event: error\ndata: {"error":"cut"}\n\n';
    const eols = { lf: "\n", crlf: "\r\n", cr: "\r" } as const;

    /** What the client must receive when the upstream stops after `at` bytes: every complete event, then the error event. */
    function expected(eol: keyof typeof eols, at: number): string {
      const bytes = Buffer.from(cutStream(eols[eol]));
      const blank = Buffer.from(eols[eol] + eols[eol]);
      let end = 0;
      for (let i = bytes.indexOf(blank); i !== -1; i = bytes.indexOf(blank, i + blank.length)) {
        const boundary = i + blank.length;
        if (boundary <= at) end = boundary;
        else if (eol === "crlf" && boundary - 1 === at) end = boundary;
      }
      const lf = end === at && bytes[at - 1] === 13 && eol === "cr" ? "\n" : "";
      return bytes.subarray(0, end).toString("utf8") + lf + ERROR_EVENT;
    }

    async function cutAt(eol: keyof typeof eols, at: number, how: "reset" | "end" | "hang", step: number): Promise<{ text: string; failure: string | undefined }> {
      const { id, response } = forward(host(), `/cut-at?at=${at}&how=${how}&step=${step}&eol=${eol}`, { streamErrorEvent: ERROR_EVENT, ...(how === "hang" ? { idleTimeoutMs: 300 } : {}) });
      const res = await response;
      const text = await res.text();
      const record = await settled(host(), id);
      const end = ends(record.events);
      expect(end, `${eol} ${how} at ${at}`).toHaveLength(1);
      return { text, failure: (end[0] as { failure?: string }).failure };
    }

    /** Runs the cases a few at a time: real sockets, a loaded machine. */
    async function each<T>(items: T[], run: (item: T) => Promise<void>): Promise<void> {
      for (let i = 0; i < items.length; i += 6) await Promise.all(items.slice(i, i + 6).map(run));
    }

    const length = (eol: keyof typeof eols) => Buffer.byteLength(cutStream(eols[eol]));

    it("a connection reset at every byte offset (LF): every complete event, then the error event on a clean boundary", async () => {
      const offsets = Array.from({ length: length("lf") - 1 }, (_, i) => i + 1);
      await each(offsets, async (at) => {
        // Two writes: events also span the transport's chunks.
        const { text, failure } = await cutAt("lf", at, "reset", Math.max(1, at >> 1));
        expect(text, `reset at ${at}`).toBe(expected("lf", at));
        expect(readWithEventSourceParser(text).broken).toEqual([]);
        expect(failure).toBe("upstream_stream_broken");
      });
    });

    it("CRLF and CR terminators, cut at a dense sample of offsets, events split byte by byte", async () => {
      const cases = (["crlf", "cr"] as const).flatMap((eol) => Array.from({ length: Math.ceil((length(eol) - 1) / 4) }, (_, i) => ({ eol, at: 1 + i * 4 })));
      await each(cases, async ({ eol, at }) => {
        const { text } = await cutAt(eol, at, "reset", at % 3 === 0 ? 1 : 7);
        expect(text, `${eol} reset at ${at}`).toBe(expected(eol, at));
        expect(readWithEventSourceParser(text).broken).toEqual([]);
      });
    });

    it("a body that ends cleanly inside an event is a truncated stream: tail dropped, error event, upstream_stream_truncated", async () => {
      const total = length("lf");
      // The last two bytes are the blank line after `data: [DONE]`: without it the stream is complete all the same.
      const offsets = Array.from({ length: Math.ceil(total / 5) }, (_, i) => 1 + i * 5).filter((at) => at < total - 2);
      for (const at of [total - 2, total - 1]) {
        const { text, failure } = await cutAt("lf", at, "end", 5);
        expect(text).toBe(cutStream("\n"));
        expect(failure).toBeUndefined();
      }
      await each(offsets, async (at) => {
        const { text, failure } = await cutAt("lf", at, "end", 5);
        const sent = Buffer.from(cutStream("\n")).subarray(0, at).toString("utf8");
        if (expected("lf", at) === sent + ERROR_EVENT) {
          // Ended right after an event: a complete (if short) stream, passed as it was.
          expect(text).toBe(sent);
          expect(failure).toBeUndefined();
        } else {
          expect(text, `end at ${at}`).toBe(expected("lf", at).replace(ERROR_EVENT, `${ERROR_EVENT}: The upstream provider's stream ended in the middle of an event; the answer is incomplete.`));
          expect(failure).toBe("upstream_stream_truncated");
        }
      });
    });

    it("an upstream silent inside an event past the idle limit: tail dropped, error event, upstream_idle_timeout", async () => {
      await each([9, 30, 64], async (at) => {
        const { text, failure } = await cutAt("lf", at, "hang", 4);
        expect(text).toBe(expected("lf", at).replace(ERROR_EVENT, `${ERROR_EVENT}: The upstream provider sent nothing for 300 ms; the answer is incomplete (GATEHOUSE_UPSTREAM_IDLE_TIMEOUT_MS).`));
        expect(failure).toBe("upstream_idle_timeout");
      });
    });
  });

  it("no headers within the header deadline: forward rejects with upstream_timeout (504) and the tap is never told of an end", async () => {
    const { id, response } = forward(host(), "/silent", { headerTimeoutMs: 300 });
    const res = await response;
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("upstream_timeout");
    const record = await settled(host(), id);
    expect(record.events).toEqual([{ type: "rejected", code: "upstream_timeout" }]);
  });

  it("an upstream that cannot be reached: forward rejects with upstream_unavailable (502), no end", async () => {
    const closed = await startContractUpstream();
    const url = closed.url;
    await closed.close();
    const { id, response } = forward(host(), "", { upstream: `${url}/json` });
    const res = await response;
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("upstream_unavailable");
    const record = await tapOf(host(), id);
    expect(record.events).toEqual([{ type: "rejected", code: "upstream_unavailable" }]);
  });

  it("a status retryOn names resolves a retry signal: nothing reaches the client or the tap", async () => {
    const { id, response } = forward(host(), "/unavailable", { retryOn: [503] });
    const res = await response;
    expect(await res.json()).toEqual({ retry: true, status: 503 });
    const record = await settled(host(), id);
    expect(record.events).toEqual([{ type: "retry", status: 503 }]);
  });
});
