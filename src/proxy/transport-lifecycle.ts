import { GatewayError } from "../core/errors.ts";
import type { ForwardOptions, ResponseTap } from "./transport.ts";

/**
 * What both transports (node:http on Node, fetch + TransformStream on Workers) share about one
 * forwarded answer's life: it ends once, with one of three outcomes and a failure name the
 * ledger understands; the same timeouts say the same words; the same errors reject a forward
 * that never got an answer. Runtime-neutral (timers and Web APIs only). The contract both
 * transports keep is test/transport/contract.test.ts.
 */

export type AnswerOutcome = "completed" | "client_aborted" | "upstream_failed";

/** The `failure` names `tap.onEnd` is given, as the ledger's error_code stores them. */
export const ANSWER_FAILURES = {
  streamBroken: "upstream_stream_broken",
  /** The upstream ended its body in the middle of an event. */
  streamTruncated: "upstream_stream_truncated",
  idleTimeout: "upstream_idle_timeout",
  clientWriteTimeout: "client_write_timeout",
  shutdown: "gateway_shutdown",
} as const;

/**
 * End-once for one forwarded answer: `end` calls `tap.onEnd` the first time and never again,
 * whichever of the client, the upstream or a timer gets there first; `discard` ends without
 * telling the tap (a fallback's discarded answer, a forward that rejects). `onSettled` runs
 * once on either (the adapter's gauges and timers).
 */
export class AnswerLifecycle {
  private done = false;

  constructor(
    private readonly tap: ResponseTap,
    private readonly onSettled: () => void = () => undefined,
  ) {}

  get ended(): boolean {
    return this.done;
  }

  /** True when this call ended the answer (and told the tap); false when it had ended already. */
  end(outcome: AnswerOutcome, failure?: string): boolean {
    if (this.done) return false;
    this.done = true;
    this.onSettled();
    this.tap.onEnd(outcome, failure);
    return true;
  }

  /** Ends without `tap.onEnd`: the answer never reached the client (retry signal, rejected forward). */
  discard(): void {
    if (this.done) return;
    this.done = true;
    this.onSettled();
  }
}

/**
 * The upstream's silence once its headers came: `arm` on every byte (cheap: one clock read,
 * the timer is re-set only when it fires early), `pause` while the client holds the
 * stream back (that is the client-write deadline's business), `stop` at the end. Without a
 * limit (undefined) every call is a no-op.
 */
export class SilenceTimer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private deadline = 0;

  constructor(
    private readonly ms: number | undefined,
    private readonly onSilent: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  arm(): void {
    if (this.ms === undefined) return;
    this.deadline = this.now() + this.ms;
    if (this.timer === undefined) this.schedule(this.ms);
  }

  pause(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  stop(): void {
    this.pause();
  }

  private schedule(wait: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const left = this.deadline - this.now();
      if (left > 0) this.schedule(left);
      else this.onSilent();
    }, wait);
  }
}

/**
 * The same deadlines for a byte path that awaits (Workers reads and writes a stream): each
 * awaited read is the idle limit's unit, each awaited write the client-write limit's.
 */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/** The promise's value, or TIMED_OUT when it has not settled within `ms` (no deadline when undefined). */
export async function withDeadline<T>(promise: Promise<T>, ms: number | undefined): Promise<T | typeof TIMED_OUT> {
  if (ms === undefined) return promise;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What the client reads when the upstream went silent past the idle limit. */
export function idleTimeoutMessage(ms: number): string {
  return `The upstream provider sent nothing for ${ms} ms; the answer is incomplete (GATEHOUSE_UPSTREAM_IDLE_TIMEOUT_MS).`;
}

/** The provider-format error event a stream cut writes to the client (with a message when the transport names the cause), or undefined for a non-streaming answer. */
export function streamErrorEvent(options: Pick<ForwardOptions, "streamErrorEvent" | "streamErrorFor">, message?: string): string | undefined {
  return message !== undefined && options.streamErrorFor ? options.streamErrorFor(message) : options.streamErrorEvent;
}

/** Marks the header deadline's abort, to tell it from any other failure of the upstream request. */
export class UpstreamTimeout extends Error {
  override readonly name = "UpstreamTimeout";
}

/** The forward's rejection when the upstream sent no headers within the header deadline (504). */
export function upstreamTimeoutError(): GatewayError {
  return new GatewayError("upstream_timeout", "The upstream provider did not answer in time.");
}

/** The forward's rejection when the upstream could not be reached (502); never the upstream's text. */
export function upstreamUnavailableError(cause: unknown): GatewayError {
  return new GatewayError("upstream_unavailable", "The upstream provider could not be reached.", { cause });
}

export function requestBodyTimeoutError(ms: number): GatewayError {
  return new GatewayError("request_timeout", `The request body did not arrive within ${ms} ms (GATEHOUSE_REQUEST_BODY_TIMEOUT_MS); send it at once, or raise the limit.`);
}

export function requestBodyTooLargeError(limit: number): GatewayError {
  return new GatewayError("payload_too_large", `Request body is larger than the gateway's limit of ${limit} bytes.`);
}

export function requestBodyUnreadableError(cause: unknown): GatewayError {
  return new GatewayError("bad_request", "The request body could not be read.", { cause });
}
