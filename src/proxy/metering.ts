import type { Clock } from "../core/clock.ts";
import type { Caller } from "../core/caller.ts";
import type { Logger } from "../core/logger.ts";
import type { ConfigHolder } from "../config/index.ts";
import { resolvePrice, type Catalog } from "../catalog/index.ts";
import { blankLedgerRow, type LedgerRow, type LedgerSink } from "../ledger/index.ts";
import type { ProviderDescriptor, RequestShape } from "../providers/index.ts";
import type { StreamOutcome } from "../store/index.ts";
import { createUsageReader, priceUsage, type UsageReport } from "../usage/index.ts";
import { estimateUsage, preloadTokenizers, tokenizerLoadFailure } from "../usage/estimate/index.ts";
import type { JsonObject } from "../providers/index.ts";
import type { Admission } from "./policy.ts";
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
}

/** A ledger row with no usage yet; the tap fills tokens, cost and timings in. */
export function ledgerRow(r: RequestRecord, shape: RequestShape | undefined, status: number, outcome: StreamOutcome, errorCode: string | null): LedgerRow {
  const row = blankLedgerRow({
    request_id: r.requestId,
    ts: r.ts,
    day: new Date(r.ts).toISOString().slice(0, 10),
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
  return row;
}

export interface MeteringServices {
  catalog: Catalog;
  config: ConfigHolder;
  ledger: LedgerSink;
  logger: Logger;
}

/** The request as the upstream received it: what an estimate counts the prompt from. */
export interface ForwardedRequest {
  /** Parsed JSON body (undefined for multipart or bodiless requests). */
  body: JsonObject | undefined;
  /** Bytes sent upstream. */
  bytes: number;
}

/**
 * The tap of one upstream attempt: feeds the response bytes to the usage reader as they
 * pass, and at the end writes the one ledger row (tokens, cost, timings) and settles the
 * policy's reservation, whatever way the stream ended. When the provider's usage never
 * arrived (abort, broken or cut stream, a body without usage) the row carries the
 * gateway's own count and `estimated = 1`; the reservation settles at that figure.
 */
export function createMeteringTap(
  r: RequestRecord,
  shape: RequestShape,
  attempts: number,
  requestedModel: string | undefined,
  admission: Admission,
  services: MeteringServices,
  request: ForwardedRequest = { body: undefined, bytes: 0 },
): ResponseTap {
  // Loads the tokenizers in the background on the first request (a no-op afterwards).
  void preloadTokenizers();
  const reader = createUsageReader(shape.format, { streaming: shape.streaming });
  const forwardStartedAt = r.clock.monotonic();
  let upstreamStatus = 0;
  let upstreamLatency: number | null = null;
  let ttfb: number | null = null;
  return {
    onResponse(status) {
      upstreamStatus = status;
      upstreamLatency = r.clock.monotonic() - forwardStartedAt;
    },
    onChunk(chunk) {
      if (ttfb === null) ttfb = r.clock.monotonic() - r.startedAt;
      reader.push(chunk);
    },
    onEnd(outcome, failure) {
      const report = reader.finish();
      const row = ledgerRow(r, shape, upstreamStatus, outcome, failure ?? (upstreamStatus >= 400 ? `upstream_${upstreamStatus}` : null));
      const model = shape.model ?? report.model ?? "unknown";
      row.model = model;
      row.requested_model = requestedModel ?? null;
      row.attempts = attempts;
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
      const config = services.config.current();
      const priced =
        resolvePrice(services.catalog, config, r.provider.id, model) ??
        (report.model && report.model !== model ? resolvePrice(services.catalog, config, r.provider.id, report.model) : undefined);
      if (priced) row.cost_usd = priceUsage(usage, priced.price);
      else row.unpriced = hasTokens(row) ? 1 : 0;
      row.upstream_latency_ms = upstreamLatency;
      row.ttfb_ms = ttfb;
      services.ledger.record(row);
      admission.recordAttempt?.(model, upstreamStatus);
      admission.settle(row);
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
