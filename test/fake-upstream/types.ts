import type { FakeObjectStore } from "./objects.ts";
/**
 * Public types of the fake model providers. The fake is test and benchmark
 * infrastructure: it speaks the wire formats of Anthropic, OpenAI and Gemini exactly
 * enough that the gateway cannot tell it from the real APIs for what Gatehouse uses.
 */

/**
 * Provider-neutral token counts: the truth a test asserts against. Kinds are disjoint,
 * as in src/usage/types.ts: `input` excludes cache reads and writes; `output` is every
 * generated token, reasoning included; `reasoning` is the part of `output` that was
 * reasoning. Each provider renders them in its own convention (see usage.ts).
 */
export interface NeutralUsage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  reasoning: number;
}

/** A provider-shaped error: Anthropic `error.type`, OpenAI `error.type`, Gemini `error.status`. */
export interface BehaviourError {
  type: string;
  message: string;
}

/** What the fake does for one request. Everything is optional; defaults give a successful answer. */
export interface Behaviour {
  /** The answer text. Defaults to a short sentence, or `chunks` generated words when `chunks` is set. */
  text?: string;
  usage?: Partial<NeutralUsage>;
  /** Model id the provider reports; defaults to the requested model. */
  model?: string;
  /** HTTP status for an error answer; with `error` unset, the provider's usual body for that status. */
  status?: number;
  /** Provider-shaped error body (status from the type when `status` is unset). */
  error?: BehaviourError;
  /** Wait this long before sending response headers (overrides the server's `delayMs`). */
  headersDelayMs?: number;
  /**
   * Send no response headers until this promise settles (after any delay): a test holds
   * answers back until every request of a wave has been decided, then releases them at once,
   * instead of hoping a fixed delay outlasts the decisions on a slow machine.
   */
  holdHeadersUntil?: Promise<unknown>;
  /** Wait this long after the headers before the first stream event (a model thinking before its first token). */
  firstEventDelayMs?: number;
  /** Send no stream event until this promise settles (after any delay): a test decides when the model "thinks of" its first token. */
  holdFirstEventUntil?: Promise<unknown>;
  /** Wait this long before each text delta. */
  chunkDelayMs?: number;
  /**
   * Send text delta `index` (from 0) only once the promise this returns settles (after any
   * delay): a test steps a stream one delta at a time and reads each through the gateway,
   * instead of spacing deltas out in time and measuring arrivals against slack.
   */
  holdChunkUntil?: (index: number) => Promise<unknown>;
  /** How many text deltas to stream. */
  chunks?: number;
  /** Destroy the socket after this many stream events (mid-stream network failure). */
  failAfterEvents?: number;
  /**
   * After `afterEvents` stream events, send the first `bytes` bytes of the next event (a
   * byte count past that event's length is clamped to one byte short of it), then `how`:
   * `reset` destroys the socket (default), `end` ends the body cleanly mid-event (a
   * truncated stream), `hang` goes silent until the client leaves (the idle deadline's case).
   */
  cutInsideEvent?: { afterEvents: number; bytes: number; how?: "reset" | "end" | "hang" };
  /** After this many stream events, send the provider's in-stream error event and end the stream. */
  errorEventAfter?: number;
  /** Stream deltas every `chunkDelayMs` until the client disconnects (abort tests). */
  endless?: boolean;
  /**
   * A model that calls one tool once: a request that offers a tool of this name and carries
   * no tool result yet is answered with this call (the arguments stream as JSON deltas where
   * the provider streams them); any other request (the one that brings the result back, a
   * side request without tools) gets `text`. Lets a real client run one tool turn.
   */
  toolCall?: ToolCallBehaviour;
}

export interface ToolCallBehaviour {
  /** The tool's name as the client declared it (Anthropic `tools[].name`, OpenAI `tools[].name`, Gemini `functionDeclarations[].name`). */
  name: string;
  arguments: Record<string, unknown>;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string, as the server routed on it (dot segments resolved, escapes decoded). */
  path: string;
  /** Path exactly as it arrived on the request line. */
  rawPath: string;
  /** Query string including the leading `?`, or "" when there is none. */
  search: string;
  /** Lower-cased header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  bodyText: string;
  /** Epoch milliseconds when the request head arrived. */
  receivedAt: number;
}

export interface ProviderKeys {
  anthropic: string;
  openai: string;
  google: string;
  groq: string;
  /** The AWS secret access key Bedrock's SigV4 signatures are checked with (the access key id is FAKE_AWS_ACCESS_KEY_ID). */
  bedrock: string;
  /** Unused: Vertex checks the access tokens it issued for its generated service account. */
  vertex: string;
  /** Azure OpenAI's resource key, checked in the `api-key` header. */
  azure: string;
}

export interface FakeUpstreamOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Delay before response headers for every request (a behaviour's `headersDelayMs` wins). */
  delayMs?: number;
  keys?: Partial<ProviderKeys>;
  /** Record requests in `requests` (default true; benchmarks turn it off to keep memory flat). */
  record?: boolean;
}

export interface FakeUpstream {
  /** "http://127.0.0.1:PORT", no trailing slash. */
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** Responses whose client went away before the response ended. */
  readonly aborted: number;
  /** Resolves once `requests` holds at least `count` requests (at once if it already does): an event to await, not a poll. */
  whenRequests(count: number): Promise<void>;
  /** Resolves once `aborted` reaches at least `count` (at once if it already has). */
  whenAborted(count: number): Promise<void>;
  readonly keys: ProviderKeys;
  /** The AWS credentials and region Bedrock's signatures must be made with. */
  readonly aws: { accessKeyId: string; secretAccessKey: string; region: string };
  /** Vertex AI: the project it serves, the service-account key file a gateway is given, and the token exchanges seen. */
  readonly vertex: { project: string; serviceAccountKey: Record<string, string>; readonly exchanges: number; expireTokens(): void };
  /** Files and batches created under the keys (one store for every caller, as at the provider). */
  readonly objects: FakeObjectStore;
  /** Behaviour for the next request (FIFO). */
  enqueue(behaviour: Behaviour): void;
  /** Behaviour for requests with nothing queued. */
  setDefault(behaviour: Behaviour): void;
  /** Forget recorded requests, queued behaviours, the default behaviour and the abort count. */
  reset(): void;
  close(): Promise<void>;
}
