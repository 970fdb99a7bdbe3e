import type { Context } from "hono";
import type { AppDeps } from "../core/deps.ts";
import { describeError, type AppEnv } from "../core/app.ts";
import type { Caller } from "../core/caller.ts";
import { GatewayError, toGatewayError } from "../core/errors.ts";
import type { ProviderDescriptor, JsonObject, RequestShape } from "../providers/index.ts";
import type { LedgerSink, LedgerRow } from "../ledger/index.ts";
import type { StreamOutcome } from "../store/index.ts";
import { createInjectedUsageFilter, createUsageReader, priceUsage } from "../usage/index.ts";
import { resolvePrice, type Catalog } from "../catalog/index.ts";
import { forwardRequestHeaders } from "./headers.ts";
import { upstreamUrl } from "./url.ts";
import { isRetrySignal, type ProxyTransport, type ResponseTap } from "./transport.ts";
import type { Admission, ProxyPolicy } from "./policy.ts";

export interface ProxyServices {
  transport: ProxyTransport;
  catalog: Catalog;
  ledger: LedgerSink;
  policy: ProxyPolicy;
  /** Header that carries the caller's anonymous id upstream (all providers). */
  userIdHeader: string;
  /** More request headers never to forward (e.g. a configured identity header). */
  stripHeaders?: readonly string[];
}

const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH"]);
const encoder = new TextEncoder();

/** The hot path: authenticate, read and rewrite the request, forward, meter the answer. */
export function createProviderHandler(provider: ProviderDescriptor, deps: AppDeps, services: ProxyServices) {
  const { clock, logger, settings } = deps;
  const { transport } = services;

  return async (c: Context<AppEnv>): Promise<Response> => {
    const startedAt = clock.monotonic();
    const ts = clock.now();
    const requestId = c.get("requestId");
    const head = transport.head(c);
    const subPath = head.path.slice(provider.routePrefix.length) || "/";
    const fail = (err: unknown): Response => {
      const gatewayError = toGatewayError(err);
      // The client gets an opaque message; the log keeps what went wrong (name and message only).
      if (gatewayError.code === "internal") logger.error({ requestId, provider: provider.id, err: describeError(err) }, "proxy request failed");
      return providerErrorResponse(c, provider, gatewayError, requestId);
    };

    let caller: Caller;
    try {
      caller = await deps.authenticator.authenticate(headerReader(head.headers));
    } catch (err) {
      return fail(err);
    }

    const row = (shape: RequestShape | undefined, status: number, outcome: StreamOutcome, errorCode: string | null): LedgerRow => ({
      request_id: requestId,
      ts,
      day: new Date(ts).toISOString().slice(0, 10),
      caller_id: caller.id,
      team: caller.team ?? null,
      provider: provider.id,
      model: shape?.model ?? "unknown",
      endpoint: shape?.endpoint ?? "other",
      streamed: shape?.streaming ? 1 : 0,
      status,
      outcome,
      input_tokens: 0,
      output_tokens: 0,
      cache_read_tokens: 0,
      cache_write_5m_tokens: 0,
      cache_write_1h_tokens: 0,
      reasoning_tokens: 0,
      cost_usd: 0,
      unpriced: 0,
      upstream_latency_ms: null,
      ttfb_ms: null,
      duration_ms: clock.monotonic() - startedAt,
      error_code: errorCode,
      requested_model: shape?.model ?? null,
      attempts: 1,
    });

    const config = deps.config.current();
    const providerConfig = config.providers[provider.id];
    const base = providerConfig?.upstream ?? provider.defaultUpstream;
    if (!providerConfig || !base) return fail(new GatewayError("not_configured", `Provider ${provider.id} is not configured on this gateway.`));
    const keyName = providerConfig.apiKeyEnv ?? provider.defaultApiKeyEnv;
    const key = deps.secrets.get(keyName);
    if (!key && !provider.keyOptional) return fail(new GatewayError("not_configured", `No key is configured for provider ${provider.id}.`));

    let bodyBytes: Uint8Array | undefined;
    let body: JsonObject | undefined;
    let shape: RequestShape | undefined;
    try {
      if (METHODS_WITH_BODY.has(head.method)) {
        bodyBytes = await transport.readBody(c, settings.maxRequestBodyBytes);
        body = parseJsonBody(bodyBytes, head.headers["content-type"]);
      }
      shape = provider.classify(head.method, subPath, head.search, body);
    } catch (err) {
      const gatewayError = toGatewayError(err);
      services.ledger.record(row(shape, gatewayError.status, "not_forwarded", gatewayError.code));
      return fail(gatewayError);
    }

    let admission: Admission;
    try {
      admission = await services.policy.admit({ caller, provider, shape, body, requestId, path: subPath, bodyBytes: bodyBytes?.byteLength ?? 0 });
    } catch (err) {
      const gatewayError = toGatewayError(err);
      services.ledger.record(row(shape, gatewayError.status, "not_forwarded", gatewayError.code));
      return fail(gatewayError);
    }

    let bodyChanged = admission.bodyChanged;
    let hideInjectedUsage = false;
    if (body) {
      if (provider.setEndUser(body, shape, caller.id)) bodyChanged = true;
      if (shape.format === "openai-chat" && shape.streaming && !clientAskedForUsage(body)) {
        // Usage only arrives on streamed chat when asked for; ask, and hide the extra chunk.
        const options = isObject(body["stream_options"]) ? body["stream_options"] : {};
        body["stream_options"] = { ...options, include_usage: true };
        bodyChanged = true;
        hideInjectedUsage = true;
      }
    }

    const headers = forwardRequestHeaders(
      head.headers,
      key ? { placement: provider.keyPlacement, value: key } : undefined,
      { [services.userIdHeader]: caller.id },
      services.stripHeaders,
    );

    // Routing: the admitted model first, then its fallbacks (only before a byte reached the client).
    const models = admission.route ? [admission.route.model, ...admission.route.fallbacks] : [shape.model];
    const requestedModel = shape.model;
    let lastError: GatewayError | undefined;
    for (let attempt = 0; attempt < models.length; attempt++) {
      const model = models[attempt];
      const isLast = attempt === models.length - 1;
      const attemptShape: RequestShape = { ...shape, model };
      let attemptPath = subPath;
      let attemptBody = bodyBytes;
      if (model !== undefined && model !== requestedModel) {
        if (body && typeof body["model"] === "string") {
          body["model"] = model;
          bodyChanged = true;
        } else attemptPath = subPath.replace(`/models/${requestedModel ?? ""}:`, `/models/${model}:`);
      }
      if (body && bodyChanged) attemptBody = encoder.encode(JSON.stringify(body));
      if (attemptBody) headers["content-length"] = String(attemptBody.byteLength);

      const tap = createLedgerTap(attemptShape, attempt + 1, requestedModel);
      try {
        const result = await transport.forward(
          c,
          { url: upstreamUrl(base, attemptPath, head.search), method: head.method, headers, body: attemptBody },
          tap,
          {
            transform: hideInjectedUsage ? createInjectedUsageFilter() : undefined,
            responseHeaders: { "x-gatehouse-request-id": requestId },
            streamErrorEvent: shape.streaming ? provider.streamErrorEvent("The upstream provider connection failed mid-stream; the answer is incomplete.") : undefined,
            headerTimeoutMs: settings.upstreamHeaderTimeoutMs,
            streaming: shape.streaming || shape.endpoint === "stream_generate",
            retryOn: isLast ? undefined : isRetryableStatus,
          },
        );
        if (!isRetrySignal(result)) return result;
        admission.recordAttempt?.(model ?? "unknown", result.status);
        lastError = new GatewayError("upstream_unavailable", `Upstream answered ${result.status}.`);
      } catch (err) {
        lastError = toGatewayError(err);
        admission.recordAttempt?.(model ?? "unknown", 0);
        if (isLast) {
          const failed = row(attemptShape, lastError.status, "upstream_failed", lastError.code);
          failed.attempts = attempt + 1;
          failed.requested_model = requestedModel ?? null;
          services.ledger.record(failed);
          admission.settle(failed);
          return fail(lastError);
        }
      }
    }
    // Unreachable: the last attempt never retries; kept for the type checker.
    return fail(lastError ?? new GatewayError("internal", "No upstream attempt was made."));

    function createLedgerTap(attemptShape: RequestShape, attempts: number, requested: string | undefined): ResponseTap {
      const reader = createUsageReader(attemptShape.format, { streaming: attemptShape.streaming });
      const forwardStartedAt = clock.monotonic();
      let upstreamStatus = 0;
      let upstreamLatency: number | null = null;
      let ttfb: number | null = null;
      return {
        onResponse(status) {
          upstreamStatus = status;
          upstreamLatency = clock.monotonic() - forwardStartedAt;
        },
        onChunk(chunk) {
          if (ttfb === null) ttfb = clock.monotonic() - startedAt;
          reader.push(chunk);
        },
        onEnd(outcome, failure) {
          const report = reader.finish();
          const final = row(attemptShape, upstreamStatus, outcome, failure ?? (upstreamStatus >= 400 ? `upstream_${upstreamStatus}` : null));
          const model = attemptShape.model ?? report.model ?? "unknown";
          final.model = model;
          final.requested_model = requested ?? null;
          final.attempts = attempts;
          final.input_tokens = report.usage.inputTokens;
          final.output_tokens = report.usage.outputTokens;
          final.cache_read_tokens = report.usage.cacheReadTokens;
          final.cache_write_5m_tokens = report.usage.cacheWrite5mTokens;
          final.cache_write_1h_tokens = report.usage.cacheWrite1hTokens;
          final.reasoning_tokens = report.usage.reasoningTokens;
          // The requested id first (what the org configured prices for), then the id the upstream reports.
          const currentConfig = deps.config.current();
          const priced =
            resolvePrice(services.catalog, currentConfig, provider.id, model) ??
            (report.model && report.model !== model ? resolvePrice(services.catalog, currentConfig, provider.id, report.model) : undefined);
          if (priced) final.cost_usd = priceUsage(report.usage, priced.price);
          else final.unpriced = hasTokens(final) ? 1 : 0;
          final.upstream_latency_ms = upstreamLatency;
          final.ttfb_ms = ttfb;
          services.ledger.record(final);
          admission.recordAttempt?.(model, upstreamStatus);
          admission.settle(final);
          if (outcome !== "completed") logger.info({ requestId, provider: provider.id, outcome, failure }, "request ended early");
        },
      };
    }
  };
}

/** Statuses worth trying the next model for: rate limits, overload and server errors. */
function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 529 || (status >= 500 && status <= 599);
}

function providerErrorResponse(c: Context<AppEnv>, provider: ProviderDescriptor, error: GatewayError, requestId: string): Response {
  const headers: Record<string, string> = { "content-type": "application/json", "x-gatehouse-request-id": requestId };
  if (error.retryAfterSeconds !== undefined) headers["retry-after"] = String(Math.max(1, Math.ceil(error.retryAfterSeconds)));
  if (error.code === "payload_too_large") headers["connection"] = "close";
  return new Response(JSON.stringify(provider.errorBody(error, requestId)), { status: error.status, headers });
}

function parseJsonBody(bytes: Uint8Array, contentType: string | string[] | undefined): JsonObject | undefined {
  if (bytes.byteLength === 0) return undefined;
  const type = Array.isArray(contentType) ? contentType[0] : contentType;
  // Multipart uploads (audio, files) pass through untouched; JSON is the default for SDKs.
  if (type && !type.includes("json")) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new GatewayError("bad_request", "Request body is not valid JSON.");
  }
  if (!isObject(parsed)) throw new GatewayError("bad_request", "Request body must be a JSON object.");
  return parsed;
}

function clientAskedForUsage(body: JsonObject): boolean {
  const options = body["stream_options"];
  return isObject(options) && options["include_usage"] === true;
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function hasTokens(row: LedgerRow): boolean {
  return (row.input_tokens ?? 0) + (row.output_tokens ?? 0) + (row.cache_read_tokens ?? 0) > 0;
}

function headerReader(headers: Readonly<Record<string, string | string[] | undefined>>) {
  return {
    get(name: string): string | undefined {
      const value = headers[name];
      return Array.isArray(value) ? value[0] : value;
    },
  };
}
