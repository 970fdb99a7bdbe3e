import type { Clock } from "../core/clock.ts";
import type { Caller } from "../core/caller.ts";
import type { Logger } from "../core/logger.ts";
import type { Pricer } from "../catalog/index.ts";
import { blankLedgerRow, type ClientInfo, type LedgerRow } from "../ledger/index.ts";
import type { ProviderDescriptor, RequestShape } from "../providers/index.ts";
import type { StreamOutcome } from "../store/index.ts";
import { createUsageReader, type UsageReport } from "../usage/index.ts";
import { estimateUsage, prepareEstimate, tokenizerLoadFailure } from "../usage/estimate/index.ts";
import type { JsonObject } from "../providers/index.ts";
import type { GatewayError } from "../core/errors.ts";
import type { RequestListener } from "./observer.ts";
import { FAILURE_NOT_SENT, type ResponseTap } from "./transport.ts";

/** What one request's ledger rows share: who, when, through which provider. */
export interface RequestRecord {
  requestId: string;
  /** Epoch ms when the request arrived. */
  ts: number;
  /** Monotonic ms when the request arrived, for durations. */
  startedAt: number;
  caller: Caller;
  provider: ProviderDescriptor;
  clock: Clock;
  /** The coding client and its session, from the request's headers (the WebSocket handshake's for a socket). */
  client: ClientInfo;
  /** The provider the request came in on, when `provider` is another one serving it (cross-provider fallback). */
  requestedProvider?: ProviderDescriptor | undefined;
}

const DAY_MS = 86_400_000;
// The UTC day of the last row written: one Date and ISO string a day instead of one a row (~3 µs).
let dayStartsAt = 0;
let dayEndsAt = 0;
let dayText = "";

/** `YYYY-MM-DD` (UTC) of an epoch-ms time: the ledger's `day` column. */
export function utcDay(ts: number): string {
  if (ts < dayStartsAt || ts >= dayEndsAt) {
    dayText = new Date(ts).toISOString().slice(0, 10);
    dayStartsAt = ts - (((ts % DAY_MS) + DAY_MS) % DAY_MS);
    dayEndsAt = dayStartsAt + DAY_MS;
  }
  return dayText;
}

/** A ledger row with no usage yet; the tap fills tokens, cost and timings in. */
export function ledgerRow(r: RequestRecord, shape: RequestShape | undefined, status: number, outcome: StreamOutcome, errorCode: string | null): LedgerRow {
  const row = blankLedgerRow({
    request_id: r.requestId,
    ts: r.ts,
    day: utcDay(r.ts),
    caller_id: r.caller.id,
    team: r.caller.team ?? null,
    provider: r.provider.id,
    model: shape?.model ?? "unknown",
    endpoint: shape?.endpoint ?? "other",
    status,
    outcome,
    duration_ms: r.clock.monotonic() - r.startedAt,
  });
  row.streamed = shape?.streaming ? 1 : 0;
  row.error_code = errorCode;
  row.requested_model = shape?.model ?? null;
  row.client = r.client.client;
  row.client_version = r.client.clientVersion;
  row.session_id = r.client.sessionId;
  row.key_name = null;
  // A cross-provider fallback's row: the provider that served (and priced) it is `provider`, the one asked is kept here.
  row.requested_provider = r.requestedProvider !== undefined && r.requestedProvider.id !== r.provider.id ? r.requestedProvider.id : null;
  return row;
}

/** The row of an attempt that could not reach the upstream (the last one: no fallback left). */
export function failedAttemptRow(r: RequestRecord, shape: RequestShape, attempts: number, requestedModel: string | undefined, error: GatewayError, keyName?: string): LedgerRow {
  const row = ledgerRow(r, shape, error.status, "upstream_failed", error.code);
  row.key_name = keyName ?? null;
  row.attempts = attempts;
  row.requested_model = requestedModel ?? null;
  return row;
}

export interface MeteringServices {
  /** The same pricing function the policy's estimate uses (src/catalog/pricer.ts). */
  pricer: Pricer;
  logger: Logger;
}

/** One upstream attempt, as the tap reports it. */
export interface MeteredAttempt {
  /** The attempt's shape (its model is the one this attempt calls). */
  shape: RequestShape;
  /** 1-based. */
  attempt: number;
  /** The model the client asked for (before routing). */
  requestedModel: string | undefined;
  /** The request as it left, for an estimate. */
  request: ForwardedRequest;
  /** The upstream's host, for the observer. */
  serverAddress: string | undefined;
  /** The pool key this attempt was sent with (its name), when the provider has a key pool. */
  keyName?: string | undefined;
}

/** The request as the upstream received it: what an estimate counts the prompt from. */
export interface ForwardedRequest {
  /** Parsed JSON body (undefined for multipart or bodiless requests). */
  body: JsonObject | undefined;
  /** Bytes sent upstream. */
  bytes: number;
}

/**
 * The tap of the upstream attempt that answers the client: feeds the response bytes to
 * the usage reader as they pass and reports to the request's listener: `attempted` when
 * the answer starts, `firstByte`, and at the end `ended` with the one ledger row (tokens,
 * cost, timings), whatever way the stream ended. The subscribers write the row and settle
 * the reservation. When the provider's usage never arrived (abort, broken or cut stream,
 * a body without usage) the row carries the gateway's own count and `estimated = 1`.
 */
export function createMeteringTap(r: RequestRecord, a: MeteredAttempt, services: MeteringServices, listener: RequestListener | undefined): ResponseTap {
  const { shape, requestedModel, request } = a;
  // A stream is what clients abort and upstreams cut: load the encoding its estimate would
  // count with now, while it runs (a no-op once loaded). Other requests load it only if an
  // estimate comes (its first count); a gateway whose answers all carry usage loads none.
  if (shape.streaming && shape.metered) prepareEstimate(shape.format, shape.model);
  const reader = createUsageReader(shape.format, { streaming: shape.streaming });
  const forwardStartedAt = r.clock.monotonic();
  let upstreamStatus = 0;
  let answered = false;
  let upstreamLatency: number | null = null;
  let ttfb: number | null = null;
  const attempted = (status: number) => {
    answered = true;
    listener?.attempted?.({ attempt: a.attempt, model: shape.model, provider: r.provider, status, serverAddress: a.serverAddress, retried: false, keyName: a.keyName });
  };
  return {
    onResponse(status) {
      upstreamStatus = status;
      upstreamLatency = r.clock.monotonic() - forwardStartedAt;
      attempted(status);
    },
    onChunk(chunk) {
      if (ttfb === null) {
        ttfb = r.clock.monotonic() - r.startedAt;
        listener?.firstByte?.(ttfb);
      }
      reader.push(chunk);
      listener?.responseChunk?.(chunk);
    },
    onEnd(outcome, failure) {
      // The answer never started because the upstream failed: the attempt counts against it (breaker).
      // A client that left first says nothing about the upstream; counted, clients that abort on
      // purpose could open a model's circuit for everyone.
      if (!answered && outcome !== "client_aborted") attempted(0);
      const report = reader.finish();
      const row = ledgerRow(r, shape, upstreamStatus, outcome, failure ?? (upstreamStatus >= 400 ? `upstream_${upstreamStatus}` : null));
      const model = shape.model ?? report.model ?? "unknown";
      row.model = model;
      row.requested_model = requestedModel ?? null;
      row.attempts = a.attempt;
      row.key_name = a.keyName ?? null;
      let usage = report.usage;
      if (needsEstimate(shape, upstreamStatus, outcome, failure, report)) {
        usage = estimateUsage({ format: shape.format, model, body: request.body, bodyBytes: request.bytes, report, output: reader.output() });
        row.estimated = 1;
        warnOnceIfNoTokenizer(services.logger);
      }
      row.input_tokens = usage.inputTokens;
      row.output_tokens = usage.outputTokens;
      row.cache_read_tokens = usage.cacheReadTokens;
      row.cache_write_5m_tokens = usage.cacheWrite5mTokens;
      row.cache_write_1h_tokens = usage.cacheWrite1hTokens;
      row.reasoning_tokens = usage.reasoningTokens;
      // The requested id first (what the org configured prices for), then the id the upstream reports.
      const cost = services.pricer(r.provider.id, model, usage) ?? (report.model && report.model !== model ? services.pricer(r.provider.id, report.model, usage) : undefined);
      if (cost !== undefined) row.cost_usd = cost;
      else row.unpriced = hasTokens(row) ? 1 : 0;
      row.upstream_latency_ms = upstreamLatency;
      row.ttfb_ms = ttfb;
      listener?.ended({ outcome, status: upstreamStatus, errorCode: row.error_code ?? null, row });
      if (outcome !== "completed") services.logger.info({ requestId: r.requestId, provider: r.provider.id, callerId: r.caller.id, outcome, failure }, "request ended early");
      else if (upstreamStatus >= 400) services.logger.info({ requestId: r.requestId, provider: r.provider.id, callerId: r.caller.id, status: upstreamStatus, code: row.error_code }, "upstream answered with an error");
    },
  };
}

let warnedNoTokenizer = false;
function warnOnceIfNoTokenizer(logger: Logger): void {
  const failure = tokenizerLoadFailure();
  if (!failure || warnedNoTokenizer) return;
  warnedNoTokenizer = true;
  logger.warn({ err: { name: failure.name, message: failure.message } }, "tokenizers could not be loaded: estimated usage counts 3.5 bytes per token");
}

/**
 * The provider's usage is missing and the provider bills for the request anyway: it
 * answered with a success status (or the client left before the answer started, after the
 * request went out), and the endpoint is one that is billed by tokens. Error answers
 * (4xx/5xx before any generation) are not billed and stay at zero.
 */
function needsEstimate(shape: RequestShape, status: number, outcome: string, failure: string | undefined, report: UsageReport): boolean {
  if (report.sawFinalUsage || shape.format === "none" || !shape.metered) return false;
  if (status >= 200 && status < 300) return true;
  // The client left after the request went out but before the answer started: the prompt was sent.
  return status === 0 && outcome === "client_aborted" && failure !== FAILURE_NOT_SENT;
}

function hasTokens(row: LedgerRow): boolean {
  return (row.input_tokens ?? 0) + (row.output_tokens ?? 0) + (row.cache_read_tokens ?? 0) > 0;
}
