import type { Context } from "hono";
import type { AppDeps } from "../core/deps.ts";
import { describeError, type AppEnv } from "../core/app.ts";
import type { Caller } from "../core/caller.ts";
import { GatewayError, toGatewayError } from "../core/errors.ts";
import { checkedQuery, matchEndpoint, PASS_THROUGH_SPEC, providers, setEndUser, shapeOf, type EndpointSpec, type JsonObject, type ProviderDescriptor, type RequestShape } from "../providers/index.ts";
import type { LedgerSink, LedgerRow } from "../ledger/index.ts";
import type { StreamOutcome } from "../store/index.ts";
import { createInjectedUsageFilter } from "../usage/index.ts";
import type { Catalog } from "../catalog/index.ts";
import { createMeteringTap, ledgerRow, type MeteringServices, type RequestRecord } from "./metering.ts";
import { forwardRequestHeaders } from "./headers.ts";
import { upstreamUrl } from "./url.ts";
import { canonicalTarget, encodeQuery, type CanonicalTarget } from "./canonical.ts";
import type { ObjectOwnership } from "./object-ownership.ts";
import { keepStateless, planObjectAccess, type ObjectPlan } from "./objects.ts";
import { parseJsonRequest, requireNoBody } from "./request-body.ts";
import { createResponsesSocketSession } from "./responses-websocket.ts";
import { uuidv7 } from "../core/ids.ts";
import { isRetrySignal, type ProxyTransport } from "./transport.ts";
import type { Admission, ProxyPolicy } from "./policy.ts";
import type { CallerConcurrencyLimiter, ConcurrencySlot } from "./concurrency.ts";

export interface ProxyServices {
  transport: ProxyTransport;
  catalog: Catalog;
  ledger: LedgerSink;
  policy: ProxyPolicy;
  /** Header that carries the caller's anonymous id upstream (all providers). */
  userIdHeader: string;
  /** More request headers never to forward (e.g. a configured identity header). */
  stripHeaders?: readonly string[];
  /** Per-caller cap on upstream requests in flight (src/proxy/concurrency.ts); unset = no cap. */
  concurrency?: CallerConcurrencyLimiter;
}

const encoder = new TextEncoder();
const JSON_HEADERS = { "content-type": "application/json" } as const;

/**
 * The hot path: authenticate; canonicalise the target and match it to a declared endpoint
 * (default deny); read the body as that endpoint takes it; admit (policy, object ownership);
 * forward exactly what was classified; meter the answer.
 */
export function createProviderHandler(provider: ProviderDescriptor, deps: AppDeps, services: ProxyServices, ownership: ObjectOwnership) {
  const { clock, logger, settings } = deps;
  const { transport } = services;
  // Every provider's billing and credential headers are stripped on every route: one that is
  // harmless at one provider today may be honoured by an OpenAI-compatible server tomorrow.
  const stripped = [...new Set(providers.flatMap((p) => p.strippedRequestHeaders)), ...(services.stripHeaders ?? [])];

  return async (c: Context<AppEnv>): Promise<Response> => {
    const startedAt = clock.monotonic();
    const ts = clock.now();
    const requestId = c.get("requestId");
    const head = transport.head(c);
    /** The Responses API's WebSocket mode: one governed, metered response per response.create. */
    const openSocket = async (governedAs: string, caller: Caller, target: CanonicalTarget, query: Array<readonly [string, string]>, key: string | undefined, base: string, pinned: Record<string, string>): Promise<Response> => {
      const governed = provider.endpoints.find((e) => e.name === governedAs);
      const upgrade = head.headers["upgrade"];
      if (!transport.acceptWebSocket || !governed || typeof upgrade !== "string" || upgrade.toLowerCase() !== "websocket") {
        throw new GatewayError("bad_request", `GET ${provider.routePrefix}${target.path} is the Responses API's WebSocket mode: open it with Upgrade: websocket, or POST the request instead.`);
      }
      const headers = forwardRequestHeaders(head.headers, key ? { placement: provider.keyPlacement, value: key } : undefined, { ...pinned, [services.userIdHeader]: caller.id }, [...stripped, ...WEBSOCKET_HANDSHAKE_HEADERS]);
      const metering: MeteringServices = { catalog: services.catalog, config: deps.config, ledger: services.ledger, logger };
      // An open socket holds one of the caller's upstream slots until either side closes it.
      const slot = services.concurrency?.acquire(caller.id);
      try {
        return await transport.acceptWebSocket(
          c,
          { url: upstreamUrl(base, target.forwardPath, encodeQuery(query)).replace(/^http/, "ws"), headers, timeoutMs: settings.upstreamHeaderTimeoutMs, maxMessageBytes: settings.maxRequestBodyBytes },
          (client, upstream) => {
            const session = createResponsesSocketSession(client, upstream, { provider, caller, spec: governed, policy: services.policy, ledger: services.ledger, metering, clock, logger, newRequestId: () => uuidv7(clock.now()), maxMessageBytes: settings.maxRequestBodyBytes });
            return {
              ...session,
              clientClosed: () => (session.clientClosed(), slot?.release()),
              upstreamClosed: (code, reason) => (session.upstreamClosed(code, reason), slot?.release()),
            };
          },
        );
      } catch (err) {
        slot?.release();
        throw err;
      }
    };
    let callerId: string | undefined;
    let upstreamHost: string | undefined;
    const fail = (err: unknown): Response => {
      const gatewayError = toGatewayError(err);
      // One line per refused or failed request: ids, status and code, never bodies or keys.
      // The client gets an opaque message for internal errors; the log keeps the cause.
      const fields = { requestId, provider: provider.id, callerId, upstreamHost, status: gatewayError.status, code: gatewayError.code, reason: gatewayError.message };
      if (gatewayError.code === "internal") logger.error({ ...fields, err: describeError(err) }, "proxy request failed");
      else if (gatewayError.status >= 500) logger.warn({ ...fields, cause: gatewayError.cause === undefined ? undefined : describeError(gatewayError.cause) }, "proxy request failed");
      else logger.info(fields, "proxy request refused");
      return providerErrorResponse(c, provider, gatewayError, requestId);
    };
    // Never forwarded, whoever asks: TRACE would echo the injected key, CONNECT opens a tunnel.
    if (!FORWARDED_METHODS.has(head.method)) return fail(new GatewayError("method_not_allowed", `${head.method} is not forwarded by this gateway.`));

    let caller: Caller;
    try {
      caller = await deps.authenticator.authenticate(headerReader(head.headers));
    } catch (err) {
      return fail(err);
    }

    callerId = caller.id;
    const record: RequestRecord = { requestId, ts, startedAt, caller, provider, clock };
    const row = (shape: RequestShape | undefined, status: number, outcome: StreamOutcome, errorCode: string | null): LedgerRow => ledgerRow(record, shape, status, outcome, errorCode);
    const metering: MeteringServices = { catalog: services.catalog, config: deps.config, ledger: services.ledger, logger };

    const config = deps.config.current();
    const providerConfig = config.providers[provider.id];
    const base = providerConfig?.upstream ?? provider.defaultUpstream;
    if (!providerConfig || !base) return fail(new GatewayError("not_configured", `Provider ${provider.id} is not configured on this gateway (add it under providers: in gatehouse.yaml).`));
    upstreamHost = hostOf(base);
    const keyName = providerConfig.apiKeyEnv ?? provider.defaultApiKeyEnv;
    const key = deps.secrets.get(keyName);
    // The env var's name is not a secret; an administrator needs it to fix this.
    if (!key && !provider.keyOptional) return fail(new GatewayError("not_configured", `No key is configured for provider ${provider.id}: set ${keyName} in the gateway's environment or secrets file.`));

    // Everything that decides what the request is happens here, once; any failure refuses it.
    let target: CanonicalTarget;
    let query: Array<readonly [string, string]>;
    let spec: EndpointSpec;
    let bodyBytes: Uint8Array | undefined;
    let body: JsonObject | undefined;
    let shape: RequestShape | undefined;
    let objectPlan: ObjectPlan | undefined;
    let bodyChanged = false;
    try {
      target = canonicalTarget(head.path, head.search, provider.routePrefix);
      const match = matchEndpoint(provider, head.method, target.path, providerConfig.passThrough);
      spec = match.spec;
      query = checkedQuery(provider, spec, target.query, spec.name === PASS_THROUGH_SPEC.name);
      if (spec.body === "none") requireNoBody(head.headers);
      else {
        bodyBytes = await transport.readBody(c, settings.maxRequestBodyBytes, settings.requestBodyTimeoutMs);
        if (spec.body === "json") body = parseJsonRequest(bodyBytes, head.headers["content-type"], head.headers["content-encoding"]);
      }
      shape = shapeOf(match, query, body);
      if (spec.websocket !== undefined) {
        const socket = await openSocket(spec.websocket, caller, target, query, key, base, providerConfig.pinHeaders);
        return socket;
      }
      objectPlan = await planObjectAccess(provider, providerConfig, shape, body, caller, ownership);
      bodyChanged = keepStateless(shape, body);
    } catch (err) {
      const gatewayError = toGatewayError(err);
      services.ledger.record(row(shape, gatewayError.status, "not_forwarded", gatewayError.code));
      return fail(gatewayError);
    }

    let admission: Admission;
    try {
      admission = await services.policy.admit({ caller, provider, shape, body, requestId, path: target.path, bodyBytes: bodyBytes?.byteLength ?? 0 });
    } catch (err) {
      const gatewayError = toGatewayError(err);
      services.ledger.record(row(shape, gatewayError.status, "not_forwarded", gatewayError.code));
      return fail(gatewayError);
    }
    // Fair use: the caller's upstream requests in flight are capped (src/proxy/concurrency.ts).
    let slot: ConcurrencySlot | undefined;
    try {
      slot = services.concurrency?.acquire(caller.id);
    } catch (err) {
      const gatewayError = toGatewayError(err);
      const refused = row(shape, gatewayError.status, "not_forwarded", gatewayError.code);
      services.ledger.record(refused);
      admission.settle(refused);
      return fail(gatewayError);
    }

    if (admission.bodyChanged) bodyChanged = true;
    let hideInjectedUsage = false;
    if (body) {
      if (setEndUser(body, shape, caller.id)) bodyChanged = true;
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
      // A JSON body is re-serialised from what was parsed, so it leaves as plain JSON.
      body ? { ...providerConfig.pinHeaders, ...JSON_HEADERS, [services.userIdHeader]: caller.id } : { ...providerConfig.pinHeaders, [services.userIdHeader]: caller.id },
      body ? [...stripped, "content-encoding"] : stripped,
    );
    const search = encodeQuery(query);

    // Routing: the admitted model first, then its fallbacks (only before a byte reached the client).
    const models = admission.route ? [admission.route.model, ...admission.route.fallbacks] : [shape.model];
    const requestedModel = shape.model;
    const streamsAnswer = shape.streaming || spec.streaming === "alt-sse";
    let lastError: GatewayError | undefined;
    let serialized: Uint8Array | undefined;
    for (let attempt = 0; attempt < models.length; attempt++) {
      const model = models[attempt];
      const isLast = attempt === models.length - 1;
      const attemptShape: RequestShape = { ...shape, model };
      let attemptPath = target.forwardPath;
      if (model !== undefined && model !== requestedModel) {
        if (spec.model === "body" && body) {
          body["model"] = model;
          bodyChanged = true;
        } else if (spec.model === "path") attemptPath = target.forwardPath.replace(`/models/${requestedModel ?? ""}:`, `/models/${model}:`);
      }
      // What the upstream gets is what was classified: a parsed body always leaves re-serialised
      // (no duplicate keys, escapes or encodings read one way here and another way there).
      if (body && (serialized === undefined || bodyChanged)) {
        serialized = encoder.encode(JSON.stringify(body));
        bodyChanged = false;
      }
      const attemptBody = body ? serialized : bodyBytes;
      if (attemptBody) headers["content-length"] = String(attemptBody.byteLength);

      const meteringTap = createMeteringTap(record, attemptShape, attempt + 1, requestedModel, admission, metering, { body, bytes: attemptBody?.byteLength ?? 0 });
      const ownedTap = objectPlan ? objectPlan.wrapTap(meteringTap) : meteringTap;
      const tap = slot ? slot.track(ownedTap) : ownedTap;
      try {
        const result = await transport.forward(
          c,
          { url: upstreamUrl(base, attemptPath, search), method: head.method, headers, body: attemptBody },
          tap,
          {
            transform: hideInjectedUsage ? createInjectedUsageFilter() : objectPlan?.transform,
            responseHeaders: { "x-gatehouse-request-id": requestId },
            streamErrorEvent: shape.streaming ? provider.streamErrorEvent("The upstream provider connection failed mid-stream; the answer is incomplete.", shape.format) : undefined,
            streamErrorFor: shape.streaming ? (message: string) => provider.streamErrorEvent(message, attemptShape.format) : undefined,
            headerTimeoutMs: settings.upstreamHeaderTimeoutMs,
            idleTimeoutMs: settings.upstreamIdleTimeoutMs,
            clientWriteTimeoutMs: settings.clientWriteTimeoutMs,
            streaming: streamsAnswer,
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
          slot?.release();
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
    slot?.release();
    return fail(lastError ?? new GatewayError("internal", "No upstream attempt was made."));
  };
}

/** Set by the WebSocket client library for its own handshake with the upstream. */
const WEBSOCKET_HANDSHAKE_HEADERS = ["sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-protocol"];

/** Methods a declared or pass-through endpoint can have; anything else is refused before it is read. */
const FORWARDED_METHODS = new Set(["GET", "POST", "PATCH", "DELETE"]);

/** The upstream's host for the log (never its userinfo or path). */
function hostOf(base: string): string | undefined {
  try {
    return new URL(base).host;
  } catch (err) {
    if (err instanceof TypeError) return undefined;
    throw err;
  }
}

/** Statuses worth trying the next model for: rate limits, overload and server errors. */
function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 529 || (status >= 500 && status <= 599);
}

function providerErrorResponse(c: Context<AppEnv>, provider: ProviderDescriptor, error: GatewayError, requestId: string): Response {
  const headers: Record<string, string> = { "content-type": "application/json", "x-gatehouse-request-id": requestId };
  if (error.retryAfterSeconds !== undefined) headers["retry-after"] = String(Math.max(1, Math.ceil(error.retryAfterSeconds)));
  if (error.code === "payload_too_large" || error.code === "request_timeout") headers["connection"] = "close";
  return new Response(JSON.stringify(provider.errorBody(error, requestId)), { status: error.status, headers });
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
