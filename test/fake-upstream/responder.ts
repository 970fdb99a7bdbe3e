import type { ServerResponse } from "node:http";
import type { Behaviour, BehaviourError } from "./types.ts";

/** Thrown inside a handler when the stream must stop: the client left or a failure was injected. */
export class StreamStopped extends Error {
  constructor(reason: string) {
    super(`fake-upstream stream stopped: ${reason}`);
  }
}

export type Headers = Record<string, string>;

/** The global setTimeout (not node:timers/promises): a test's fake timers move the fake's delays too. */
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Writes one response chunk by chunk: every event is its own `write`, Nagle is off, a full
 * socket buffer is awaited (backpressure), and nothing more is written once the client left.
 */
export class Responder {
  /** Set when the fake itself destroyed the socket (failAfterEvents), so it is not counted as a client abort. */
  destroyedByFake = false;
  /** Anthropic answers compact JSON; OpenAI and Google pretty-print theirs. */
  compactJson = false;
  private clientGone = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly behaviour: Behaviour,
    private readonly serverDelayMs: number,
  ) {
    res.on("close", () => {
      if (!res.writableFinished) this.clientGone = true;
    });
    res.socket?.setNoDelay(true);
  }

  get closed(): boolean {
    return this.clientGone || this.res.destroyed;
  }

  async head(status: number, headers: Headers): Promise<void> {
    const delay = this.behaviour.headersDelayMs ?? this.serverDelayMs;
    if (delay > 0) await sleep(delay);
    if (this.behaviour.holdHeadersUntil) await this.behaviour.holdHeadersUntil;
    if (this.closed) throw new StreamStopped("client went away before headers");
    this.res.writeHead(status, headers);
    this.res.flushHeaders();
  }

  async json(status: number, body: unknown, headers: Headers = {}): Promise<void> {
    const text = this.compactJson ? JSON.stringify(body) : JSON.stringify(body, null, 2);
    await this.head(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)), ...headers });
    if (this.behaviour.failAfterEvents !== undefined) {
      // A non-streamed body has no events: fail half way through the body instead.
      await this.write(text.slice(0, Math.floor(text.length / 2)));
      await this.destroy();
      return;
    }
    this.res.end(text);
  }

  async write(chunk: string | Uint8Array, encoding: BufferEncoding = "utf8"): Promise<void> {
    if (this.closed) throw new StreamStopped("client went away");
    if (this.res.write(chunk, encoding)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.res.off("drain", done);
        this.res.off("close", done);
        resolve();
      };
      this.res.on("drain", done);
      this.res.on("close", done);
    });
  }

  end(): void {
    if (!this.closed) this.res.end();
  }

  /**
   * Cuts the connection without ending the response, after what was written reached the
   * socket: Node corks chunked writes until the next tick, and destroying earlier would
   * silently drop the events the test expects the client to have seen.
   */
  async destroy(): Promise<void> {
    this.destroyedByFake = true;
    const socket = this.res.socket;
    do await new Promise((resolve) => setImmediate(resolve));
    while (!this.res.destroyed && (this.res.writableLength > 0 || (socket?.writableLength ?? 0) > 0));
    this.res.destroy();
  }
}

/** One wire event: SSE text, or a binary frame (Bedrock's event stream). */
export type WireEvent = string | Uint8Array;

/** A provider's streamed answer, as lists of wire events (each one is written on its own). */
export interface StreamPlan {
  opening: WireEvent[];
  delta(piece: string, index: number): WireEvent[];
  closing(): WireEvent[];
  /** The provider's in-stream error, then whatever ends the stream after it; `written` events went out before it. */
  errorEvents(error: BehaviourError, written: number): WireEvent[];
}

export const overloaded: BehaviourError = { type: "overloaded_error", message: "Overloaded" };

/**
 * Streams a plan. Events are counted as they are written so `failAfterEvents` (destroy the
 * socket) and `errorEventAfter` (provider error event, then end) strike at an exact point.
 */
export async function runStream(responder: Responder, plan: StreamPlan, pieces: Iterable<string>, behaviour: Behaviour, midStreamError: BehaviourError): Promise<void> {
  let written = 0;
  const emit = async (event: WireEvent): Promise<boolean> => {
    if (behaviour.errorEventAfter !== undefined && written === behaviour.errorEventAfter) {
      for (const errorEvent of plan.errorEvents(behaviour.error ?? midStreamError, written)) await responder.write(errorEvent);
      responder.end();
      return false;
    }
    if (behaviour.failAfterEvents !== undefined && written === behaviour.failAfterEvents) {
      await responder.destroy();
      return false;
    }
    const cut = behaviour.cutInsideEvent;
    if (cut !== undefined && written === cut.afterEvents) {
      const bytes = Buffer.from(event);
      await responder.write(bytes.subarray(0, Math.min(cut.bytes, bytes.length - 1)).toString("latin1"), "latin1");
      if (cut.how === "end") responder.end();
      else if (cut.how !== "hang") await responder.destroy();
      return false;
    }
    await responder.write(event);
    written++;
    return true;
  };

  if (behaviour.firstEventDelayMs) await sleep(behaviour.firstEventDelayMs);
  if (behaviour.holdFirstEventUntil) await behaviour.holdFirstEventUntil;
  for (const event of plan.opening) if (!(await emit(event))) return;
  const chunkDelay = behaviour.chunkDelayMs ?? (behaviour.endless ? 10 : 0);
  let index = 0;
  for (const piece of pieces) {
    if (chunkDelay > 0) await sleep(chunkDelay);
    if (behaviour.holdChunkUntil) await behaviour.holdChunkUntil(index);
    for (const event of plan.delta(piece, index)) if (!(await emit(event))) return;
    index++;
  }
  for (const event of plan.closing()) if (!(await emit(event))) return;
  // Every event sent, but the connection drops before the response is terminated.
  if (behaviour.failAfterEvents !== undefined && written === behaviour.failAfterEvents) {
    await responder.destroy();
    return;
  }
  responder.end();
}

/** `event: name` + `data: json` SSE framing (Anthropic, OpenAI Responses). */
export const namedEvent = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
/** `data: json` SSE framing (OpenAI Chat, Gemini alt=sse). */
export const dataEvent = (data: unknown): string => `data: ${JSON.stringify(data)}\n\n`;
