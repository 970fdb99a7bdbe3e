import type { Context } from "hono";
import type { AppDeps } from "../core/deps.ts";
import { describeError, type AppEnv } from "../core/app.ts";
import type { Caller } from "../core/caller.ts";
import { GatewayError, toGatewayError } from "../core/errors.ts";
import type { ProviderDescriptor, JsonObject, RequestShape } from "../providers/index.ts";
import type { LedgerSink, LedgerRow } from "../ledger/index.ts";
import type { StreamOutcome } from "../store/index.ts";
import { createInjectedUsageFilter } from "../usage/index.ts";
import type { Catalog } from "../catalog/index.ts";
import { createMeteringTap, ledgerRow, type MeteringServices, type RequestRecord } from "./metering.ts";
import { forwardRequestHeaders } from "./headers.ts";
import { upstreamUrl } from "./url.ts";
import { isRetrySignal, type ProxyTransport } from "./transport.ts";
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
// decode() without { stream } keeps no state between calls, so one decoder serves every request.
const decoder = new TextDecoder();

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

    const record: RequestRecord = { requestId, ts, startedAt, caller, provider, clock };
    const row = (shape: RequestShape | undefined, status: number, outcome: StreamOutcome, errorCode: string | null): LedgerRow => ledgerRow(record, shape, status, outcome, errorCode);
    const metering: MeteringServices = { catalog: services.catalog, config: deps.config, ledger: services.ledger, logger };

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

      const tap = createMeteringTap(record, attemptShape, attempt + 1, requestedModel, admission, metering);
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
    parsed = JSON.parse(decoder.decode(bytes));
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


function headerReader(headers: Readonly<Record<string, string | string[] | undefined>>) {
  return {
    get(name: string): string | undefined {
      const value = headers[name];
      return Array.isArray(value) ? value[0] : value;
    },
  };
}
