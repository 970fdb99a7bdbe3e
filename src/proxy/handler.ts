import type { Context } from "hono";
import type { AppDeps } from "../core/deps.ts";
import { describeError, type AppEnv } from "../core/app.ts";
import { GatewayError, toGatewayError } from "../core/errors.ts";
import { checkedQuery, isPoolExhausted, matchEndpoint, PASS_THROUGH_SPEC, providers, servedByDeployment, setEndUser, shapeOf, upstreamModelNames, type EndpointSpec, type JsonObject, type ProviderDescriptor, type RequestShape } from "../providers/index.ts";
import type { UpstreamProviderConfig } from "../config/index.ts";
import { isUsageOnlyEvent } from "../usage/index.ts";
import type { Pricer } from "../catalog/index.ts";
import { createMeteringTap, failedAttemptRow, ledgerRow, type MeteringServices, type RequestRecord } from "./metering.ts";
import type { RequestListener, RequestObserver } from "./observer.ts";
import { clientOf } from "../ledger/index.ts";
import { forwardRequestHeaders, gatewayHeaders } from "./headers.ts";
import { upstreamUrl } from "./url.ts";
import { canonicalTarget, encodeQuery, type CanonicalTarget } from "./canonical.ts";
import type { ObjectOwnership } from "./object-ownership.ts";
import { keepStateless, planObjectAccess } from "./objects.ts";
import { parseJsonRequest, requireNoBody } from "./request-body.ts";
import { createResponsesSocketSession } from "./responses-websocket.ts";
import { uuidv7 } from "../core/ids.ts";
import { isRetrySignal, type IncomingHead, type ProxyTransport } from "./transport.ts";
import type { ProxyPolicy } from "./policy.ts";
import type { CallerConcurrencyLimiter, ConcurrencySlot } from "./concurrency.ts";
import type { UpstreamAuth } from "./upstream-auth.ts";
import { configuredRoute, hostOf, keyPoolCache, poolExhaustedError, reportingTo, type ConfiguredRoute } from "./route.ts";
import { attemptRoute, namedModelList, namedShape, namedTarget, routeBeforeModel } from "./compat-upstreams.ts";
import { attemptOnOtherProvider, crossProviderRoutes } from "./cross-provider-attempt.ts";
import { aiGatewayErrorTransform } from "./ai-gateway.ts";

export interface ProxyServices {
  transport: ProxyTransport;
  /** Prices the ledger row's usage: the same function the policy's estimate prices with (src/catalog/pricer.ts). */
  pricer: Pricer;
  /**
   * Where each request's life is reported: the ledger, the budget settle, the circuit
   * breaker, /metrics and tracing subscribe to it (wired in the composition root).
   */
  observer: RequestObserver;
  policy: ProxyPolicy;
  /** Header that carries the caller's anonymous id upstream (all providers). */
  userIdHeader: string;
  /** More request headers never to forward (e.g. a configured identity header). */
  stripHeaders?: readonly string[];
  /** Per-caller cap on upstream requests in flight (src/proxy/concurrency.ts); unset = no cap. */
  concurrency?: CallerConcurrencyLimiter;
  /** Signs cloud routes' requests (Bedrock's SigV4, Vertex's access token); the proxy module builds one from the secrets when unset. */
  upstreamAuth?: UpstreamAuth;
}

const encoder = new TextEncoder();

/** What the classification step found out about a request: everything forwarding needs. */
interface Classified {
  target: CanonicalTarget;
  query: Array<readonly [string, string]>;
  spec: EndpointSpec;
  bodyBytes: Uint8Array | undefined;
  body: JsonObject | undefined;
  shape: RequestShape;
  /** The named compat upstream the path chose (`/compat/<name>/…`). */
  pathUpstream: string | undefined;
}

/**
 * The hot path, one request, as a pipeline reporting to one observer: refuse unforwarded
 * methods → authenticate (identified) → the provider must be configured → canonicalise the
 * target, match a declared endpoint, read the body as it takes it (classified) → object
 * ownership → admit (admitted) → the caller's concurrency slot → forward each routed model
 * in turn (attempted) → meter the answer (firstByte, ended). Every path ends in exactly one
 * `ended`: a refusal at any step ends here, an answer ends in its metering tap.
 */
export function createProviderHandler(provider: ProviderDescriptor, deps: AppDeps, services: ProxyServices, ownership: ObjectOwnership) {
  const { clock, logger, settings } = deps;
  const { transport, observer } = services;
  // Every provider's billing and credential headers are stripped on every route: one that is
  // harmless at one provider today may be honoured by an OpenAI-compatible server tomorrow.
  const stripped = [...new Set(providers.flatMap((p) => p.strippedRequestHeaders)), ...(services.stripHeaders ?? [])];
  // A parsed JSON body leaves re-serialised, as plain JSON: its content-encoding goes too.
  const strippedForJson = [...stripped, "content-encoding"];
  const metering: MeteringServices = { pricer: services.pricer, logger };
  // Key pools live across requests (their cooldowns are the point), rebuilt when a reload changes the keys.
  const poolFor = keyPoolCache(deps);
  // The routes of other providers a fallback may cross to (same wire format), with their own pools.
  const otherRoute = crossProviderRoutes(deps, services.upstreamAuth);

  return async (c: Context<AppEnv>): Promise<Response> => {
    const startedAt = clock.monotonic();
    const ts = clock.now();
    const requestId = c.get("requestId");
    const head = transport.head(c);
    const listener = observer.begin({ requestId, provider, method: head.method, ts, startedAt, traceparent: single(head.headers["traceparent"]), tracestate: single(head.headers["tracestate"]) });
    // Set as the pipeline learns them: who (a refusal after it has a ledger row), what, where.
    let record: RequestRecord | undefined;
    let shape: RequestShape | undefined;
    let upstreamHost: string | undefined;
    let slot: ConcurrencySlot | undefined;

    const errorResponse = (err: unknown): Response => {
      const gatewayError = toGatewayError(err);
      // One line per refused or failed request: ids, status and code, never bodies or keys.
      // The client gets an opaque message for internal errors; the log keeps the cause.
      const fields = { requestId, provider: provider.id, callerId: record?.caller.id, upstreamHost, status: gatewayError.status, code: gatewayError.code, reason: gatewayError.message };
      if (gatewayError.code === "internal") logger.error({ ...fields, err: describeError(err) }, "proxy request failed");
      else if (gatewayError.status >= 500) logger.warn({ ...fields, cause: gatewayError.cause === undefined ? undefined : describeError(gatewayError.cause) }, "proxy request failed");
      else logger.info(fields, "proxy request refused");
      return providerErrorResponse(c, provider, gatewayError, requestId);
    };

    try {
      // Never forwarded, whoever asks: TRACE would echo the injected key, CONNECT opens a tunnel.
      if (!FORWARDED_METHODS.has(head.method)) throw new GatewayError("method_not_allowed", `${head.method} is not forwarded by this gateway.`);
      const caller = await deps.authenticator.authenticate(headerReader(head.headers));
      record = { requestId, ts, startedAt, caller, provider, clock, client: clientOf(head.headers) };
      listener?.identified?.(caller);

      // Undefined on a compat route with named upstreams: each attempt's model picks its upstream (compat-upstreams.ts).
      const { config, route } = routeBeforeModel(provider, deps, services.upstreamAuth, poolFor);
      if (route) upstreamHost = hostOf(route.base);
      // Everything that decides what the request is happens here, once; any failure refuses it.
      const request = await classify(c, provider, config, head, transport, settings, deps.config.current().policy?.routing.aliases);
      shape = request.shape;
      listener?.classified?.(shape);
      if (request.spec.websocket !== undefined) {
        const upgraded = await openSocket(c, provider, deps, services, stripped, request, record, route ?? configuredRoute(provider, deps, services.upstreamAuth, poolFor), head, upstreamHost, listener);
        // The upgrade carries no usage of its own: each response.create on the socket is its own request.
        listener?.ended({ outcome: "completed", status: 101, errorCode: null, row: undefined });
        return upgraded;
      }
      const objectPlan = await planObjectAccess(provider, config, shape, request.body, caller, ownership);
      let bodyChanged = keepStateless(shape, request.body);
      const admission = await services.policy.admit({ caller, provider, shape, body: request.body, requestId, path: request.target.path, bodyBytes: request.bodyBytes?.byteLength ?? 0 });
      listener?.admitted?.(admission);
      // /compat/v1/models with named upstreams: the gateway's own list of every upstream's models.
      const namedList = namedModelList(provider, config, shape.endpoint, request.pathUpstream);
      if (namedList) {
        listener?.ended({ outcome: "completed", status: 200, errorCode: null, row: ledgerRow(record, shape, 200, "completed", null) });
        return namedList(requestId);
      }
      // Fair use: the caller's upstream requests in flight are capped (src/proxy/concurrency.ts).
      slot = services.concurrency?.acquire(caller.id);
      if (admission.bodyChanged) bodyChanged = true;

      // Forward exactly what was classified, to each routed model in turn.
      const { body, bodyBytes, spec, target } = request;
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
      const headersWith = (key: string | undefined, to: ConfiguredRoute): Record<string, string> =>
        forwardRequestHeaders(
          head.headers,
          key ? { placement: provider.keyPlacement, value: key } : undefined,
          // A JSON body is re-serialised from what was parsed, so it leaves as plain JSON.
          gatewayHeaders(to.config.pinHeaders, services.userIdHeader, caller.id, body !== undefined, to.upstreamHeaders?.(caller.id)),
          body ? strippedForJson : stripped,
        );
      const search = encodeQuery(request.query);

      // Routing: the admitted model first, then its fallbacks (only before a byte reached the client).
      // Each entry names the provider it is called on: another provider of the client's wire format is a cross-provider fallback.
      const chain: ReadonlyArray<{ provider: ProviderDescriptor; model: string | undefined }> = admission.route
        ? (admission.route.chain ?? [admission.route.model, ...admission.route.fallbacks].map((model) => ({ provider, model })))
        : [{ provider, model: shape.model }];
      const askedModel = shape.model;
      // The ledger's requested model: the deployment the client named (Azure), else the model it asked for.
      const requestedModel = shape.deployment ?? shape.model;
      // What each routed model on this provider is called upstream (Azure: its deployment); refused here when one has none.
      const upstreamNames = upstreamModelNames(
        provider,
        shape,
        chain.map((t) => (t.provider.id === provider.id ? t.model : undefined)),
        config.deployments,
      );
      const streamsAnswer = shape.streaming || spec.streaming === "alt-sse";
      let serialized: Uint8Array | undefined;
      // With a key pool, a 429 or 5xx on one key moves to the next key for the same model
      // (nothing reached the client yet); when every key was tried, to the next model.
      let modelIndex = 0;
      let triedKeys = new Set<string>();
      for (let attempt = 1; ; attempt++) {
        const routed = chain[modelIndex];
        const model = routed?.model;
        if (routed && model !== undefined && routed.provider.id !== provider.id) {
          const isLastTarget = modelIndex === chain.length - 1;
          const crossed = await attemptOnOtherProvider({
            c,
            transport,
            from: provider,
            target: routed.provider,
            model,
            routeFor: otherRoute,
            head,
            shape,
            body,
            record,
            attempt,
            requestedModel,
            listener,
            metering,
            stripped: strippedForJson,
            userIdHeader: services.userIdHeader,
            requestId,
            settings,
            streaming: streamsAnswer,
            isLast: isLastTarget,
            isRetryable: isRetryableStatus,
            wrapTap: (tap) => (slot ? slot.track(tap) : tap),
            dropEvent: hideInjectedUsage ? isUsageOnlyEvent : undefined,
          });
          if ("answered" in crossed) return crossed.answered;
          if ("retry" in crossed) {
            listener?.attempted?.({ attempt, model, provider: routed.provider, status: crossed.retry, serverAddress: crossed.serverAddress, retried: true });
            modelIndex++;
            triedKeys = new Set();
            continue;
          }
          listener?.attempted?.({ attempt, model, provider: routed.provider, status: 0, serverAddress: crossed.serverAddress, retried: !isLastTarget });
          if (isLastTarget) {
            slot?.release();
            listener?.ended({ outcome: "upstream_failed", status: crossed.failed.status, errorCode: crossed.failed.code, error: crossed.failed, row: failedAttemptRow(crossed.record, crossed.shape, attempt, requestedModel, crossed.failed) });
            return errorResponse(crossed.failed);
          }
          modelIndex++;
          triedKeys = new Set();
          continue;
        }
        // Each attempt's own upstream, key and model id (a named compat upstream per model; else the request's route).
        const { route: attemptTo, upstreamModel } = attemptRoute(provider, deps, services.upstreamAuth, poolFor, { route, config, pathUpstream: request.pathUpstream }, model);
        upstreamHost = hostOf(attemptTo.base);
        const pool = attemptTo.pool;
        let headers = headersWith(attemptTo.key, attemptTo);
        let keyName: string | undefined;
        if (pool) {
          const picked = pool.pick(triedKeys);
          if (isPoolExhausted(picked)) {
            // Every key of this provider is cooling: a later entry on another provider (cross-provider fallback) is tried instead, as the same attempt.
            const elsewhere = chain.findIndex((t, i) => i > modelIndex && t.provider.id !== provider.id);
            if (elsewhere !== -1) {
              modelIndex = elsewhere;
              triedKeys = new Set();
              attempt--;
              continue;
            }
            // No key can be used now: a clear refusal with when to come back, never a forward without a key.
            const exhausted = poolExhaustedError(provider, picked);
            if (attempt === 1) throw exhausted;
            slot?.release();
            listener?.ended({ outcome: "upstream_failed", status: exhausted.status, errorCode: exhausted.code, error: exhausted, row: failedAttemptRow(record, { ...shape, model }, attempt - 1, requestedModel, exhausted) });
            return errorResponse(exhausted);
          }
          keyName = picked.name;
          headers = headersWith(picked.value, attemptTo);
        }
        const moreKeys = pool !== undefined && triedKeys.size + 1 < pool.names().length;
        const isLast = modelIndex === chain.length - 1 && !moreKeys;
        const attemptShape: RequestShape = { ...shape, model };
        let attemptPath = target.forwardPath;
        if (upstreamModel !== undefined && (model !== askedModel || upstreamModel !== model)) {
          // A named compat upstream's own id (no prefix), else the deployment serving the model (Azure), else the model.
          const upstreamName = upstreamModel !== model ? upstreamModel : (upstreamNames[modelIndex] ?? upstreamModel);
          if (spec.model === "body" && body) {
            body["model"] = upstreamName;
            bodyChanged = true;
          } else if (spec.model === "path") attemptPath = withPathModel(target.forwardPath, requestedModel ?? "", upstreamName);
        }
        attemptPath = attemptTo.forwardPath(attemptPath);
        // What the upstream gets is what was classified: a parsed body always leaves re-serialised
        // (no duplicate keys, escapes or encodings read one way here and another way there).
        if (body && (serialized === undefined || bodyChanged)) {
          serialized = encoder.encode(JSON.stringify(body));
          bodyChanged = false;
        }
        const attemptBody = body ? serialized : bodyBytes;
        if (attemptBody) headers["content-length"] = String(attemptBody.byteLength);
        listener?.upstreamHeaders?.(attempt, headers);
        if (attempt === 1 && attemptBody) listener?.requestBody?.(attemptBody);
        // Signed last, over exactly what leaves; a route whose credentials cannot be had is refused here, before anything is sent.
        const unsigned = { url: upstreamUrl(attemptTo.base, attemptPath, search), method: head.method, headers, body: attemptBody };
        const outgoing = attemptTo.signer ? await attemptTo.signer(unsigned) : unsigned;

        const meteringTap = createMeteringTap(record, { shape: attemptShape, attempt, requestedModel, request: { body, bytes: attemptBody?.byteLength ?? 0 }, serverAddress: upstreamHost, keyName }, metering, listener);
        const ownedTap = objectPlan ? objectPlan.wrapTap(meteringTap) : meteringTap;
        const slotTap = slot ? slot.track(ownedTap) : ownedTap;
        // The answer that reaches the client (no key left to move to) still cools its key on a 429 or 5xx.
        const tap = pool && keyName !== undefined ? reportingTo(pool, keyName, slotTap) : slotTap;
        let failure: GatewayError;
        try {
          const result = await transport.forward(c, outgoing, tap, {
            transform: objectPlan?.transform,
            // Via Cloudflare AI Gateway: its own errors reach the client in the provider's shape.
            errorTransform: attemptTo.upstreamHeaders ? aiGatewayErrorTransform(provider, requestId, logger) : undefined,
            // A requested stream is framed on event boundaries; the injected-usage chunk is dropped there.
            // Bedrock's binary event stream is not SSE: it passes byte for byte.
            sse: shape.streaming && !EVENT_STREAM_FORMATS.has(shape.format) ? { dropEvent: hideInjectedUsage ? isUsageOnlyEvent : undefined } : undefined,
            responseHeaders: { "x-gatehouse-request-id": requestId },
            streamErrorEvent: shape.streaming ? provider.streamErrorEvent("The upstream provider connection failed mid-stream; the answer is incomplete.", shape.format) : undefined,
            streamErrorFor: shape.streaming ? (message: string) => provider.streamErrorEvent(message, attemptShape.format) : undefined,
            headerTimeoutMs: settings.upstreamHeaderTimeoutMs,
            idleTimeoutMs: settings.upstreamIdleTimeoutMs,
            clientWriteTimeoutMs: settings.clientWriteTimeoutMs,
            streaming: streamsAnswer,
            retryOn: isLast ? undefined : isRetryableStatus,
          });
          // An answer: its tap reports the rest (firstByte, ended).
          if (!isRetrySignal(result)) return result;
          listener?.attempted?.({ attempt, model, status: result.status, serverAddress: upstreamHost, retried: true, keyName });
          if (pool && keyName !== undefined) {
            pool.report(keyName, result.status, result.retryAfter);
            triedKeys.add(keyName);
            if (moreKeys) continue;
          }
          modelIndex++;
          triedKeys = new Set();
          continue;
        } catch (err) {
          failure = toGatewayError(err);
        }
        // No answer on this key (refused, reset, no headers in time): it cools, and the next key gets the same request.
        if (pool && keyName !== undefined && UNANSWERED.has(failure.code)) pool.reportUnanswered(keyName);
        listener?.attempted?.({ attempt, model, status: 0, serverAddress: upstreamHost, retried: !isLast, keyName });
        if (isLast) {
          slot?.release();
          listener?.ended({ outcome: "upstream_failed", status: failure.status, errorCode: failure.code, error: failure, row: failedAttemptRow(record, attemptShape, attempt, requestedModel, failure, keyName) });
          return errorResponse(failure);
        }
        if (keyName !== undefined && moreKeys) triedKeys.add(keyName);
        else {
          modelIndex++;
          triedKeys = new Set();
        }
      }
    } catch (err) {
      // Refused before anything was forwarded (or an internal error on the way there).
      slot?.release();
      const error = toGatewayError(err);
      listener?.ended({ outcome: "not_forwarded", status: error.status, errorCode: error.code, error, row: record ? ledgerRow(record, shape, error.status, "not_forwarded", error.code) : undefined });
      return errorResponse(err);
    }
  };
}

/** The forward path with another model in its model segment (`/models/<m>:generateContent`, Bedrock's `/model/<m>/invoke`, Azure's `/deployments/<d>/…`). */
function withPathModel(forwardPath: string, requested: string, model: string): string {
  const escaped = requested.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return forwardPath.replace(new RegExp(`/(models?|deployments)/${escaped}(?=[:/]|$)`), (_match, segment: string) => `/${segment}/${model}`);
}

/** Canonical target → declared endpoint (default deny) → checked query → the body as that endpoint takes it. */
async function classify(
  c: Context<AppEnv>,
  provider: ProviderDescriptor,
  config: UpstreamProviderConfig,
  head: IncomingHead,
  transport: ProxyTransport,
  settings: AppDeps["settings"],
  aliases: Readonly<Record<string, unknown>> | undefined,
): Promise<Classified> {
  const target = namedTarget(provider, config, canonicalTarget(head.path, head.search, provider.routePrefix));
  const match = matchEndpoint(provider, head.method, target.path, config.passThrough);
  const spec = match.spec;
  const query = checkedQuery(provider, spec, target.query, spec.name === PASS_THROUGH_SPEC.name);
  let bodyBytes: Uint8Array | undefined;
  let body: JsonObject | undefined;
  if (spec.body === "none") requireNoBody(head.headers);
  else {
    bodyBytes = await transport.readBody(c, settings.maxRequestBodyBytes, settings.requestBodyTimeoutMs);
    if (spec.body === "json") body = parseJsonRequest(bodyBytes, head.headers["content-type"], head.headers["content-encoding"]);
  }
  // Azure: the deployment the client named becomes the model it serves (undeclared and no policy alias: refused).
  const served = servedByDeployment(provider, shapeOf(match, query, body), config.deployments, aliases);
  // Named compat upstreams: the gateway's model id is <name>/<model>.
  const isAlias = (model: string): boolean => aliases !== undefined && Object.hasOwn(aliases, model);
  return { target, query, spec, bodyBytes, body, shape: namedShape(provider, config, target.upstream, served, isAlias), pathUpstream: target.upstream };
}

/** The Responses API's WebSocket mode: one governed, metered request per response.create. */
async function openSocket(
  c: Context<AppEnv>,
  provider: ProviderDescriptor,
  deps: AppDeps,
  services: ProxyServices,
  stripped: readonly string[],
  request: Classified,
  record: RequestRecord,
  route: ConfiguredRoute,
  head: IncomingHead,
  serverAddress: string | undefined,
  listener: RequestListener | undefined,
): Promise<Response> {
  const { transport } = services;
  const { clock, logger, settings } = deps;
  const { caller } = record;
  // Cloudflare documents no WebSocket mode of the Responses API through AI Gateway's provider endpoints.
  if (route.upstreamHeaders) throw new GatewayError("not_found", `GET ${provider.routePrefix}${request.target.path} (the Responses API's WebSocket mode) is not available while provider ${provider.id} goes via Cloudflare AI Gateway: POST the request instead.`);
  const governed = provider.endpoints.find((e) => e.name === request.spec.websocket);
  const upgrade = head.headers["upgrade"];
  if (!transport.acceptWebSocket || !governed || typeof upgrade !== "string" || upgrade.toLowerCase() !== "websocket") {
    throw new GatewayError("bad_request", `GET ${provider.routePrefix}${request.target.path} is the Responses API's WebSocket mode: open it with Upgrade: websocket, or POST the request instead.`);
  }
  // A pool's key for the socket's life (its cooldowns are not fed back from inside a socket); every key cooling refuses the upgrade.
  let socketKey = route.key;
  if (route.pool) {
    const picked = route.pool.pick(new Set());
    if (isPoolExhausted(picked)) throw poolExhaustedError(provider, picked);
    socketKey = picked.value;
  }
  const headers = forwardRequestHeaders(head.headers, socketKey ? { placement: provider.keyPlacement, value: socketKey } : undefined, gatewayHeaders(route.config.pinHeaders, services.userIdHeader, caller.id, false), [
    ...stripped,
    ...WEBSOCKET_HANDSHAKE_HEADERS,
  ]);
  const metering: MeteringServices = { pricer: services.pricer, logger };
  // An open socket holds one of the caller's upstream slots until either side closes it.
  const slot = services.concurrency?.acquire(caller.id);
  // The upstream handshake is the upgrade's one attempt: with telemetry on it is a CLIENT span
  // (started here, its trace context sent upstream), ended when the upgrade is answered.
  listener?.upstreamHeaders?.(1, headers);
  try {
    const upgraded = await transport.acceptWebSocket(
      c,
      {
        url: upstreamUrl(route.base, request.target.forwardPath, encodeQuery(request.query)).replace(/^http/, "ws"),
        headers,
        timeoutMs: settings.upstreamHeaderTimeoutMs,
        maxMessageBytes: settings.maxRequestBodyBytes,
        clientWriteTimeoutMs: settings.clientWriteTimeoutMs,
      },
      (client, upstream) => {
        const session = createResponsesSocketSession(client, upstream, {
          provider,
          caller,
          client: record.client,
          spec: governed,
          policy: services.policy,
          observer: services.observer,
          metering,
          serverAddress,
          clock,
          logger,
          newRequestId: () => uuidv7(clock.now()),
          maxMessageBytes: settings.maxRequestBodyBytes,
          idleTimeoutMs: settings.upstreamIdleTimeoutMs,
        });
        return {
          ...session,
          clientClosed: (failure) => (session.clientClosed(failure), slot?.release()),
          upstreamClosed: (code, reason) => (session.upstreamClosed(code, reason), slot?.release()),
        };
      },
    );
    listener?.attempted?.({ attempt: 1, model: undefined, status: 101, serverAddress, retried: false });
    return upgraded;
  } catch (err) {
    slot?.release();
    listener?.attempted?.({ attempt: 1, model: undefined, status: 0, serverAddress, retried: false });
    throw err;
  }
}

/** A header's one value (the first, when repeated). */
function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Set by the WebSocket client library for its own handshake with the upstream. */
const WEBSOCKET_HANDSHAKE_HEADERS = ["sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-protocol"];

/** Wire formats whose streams are AWS event-stream frames, not Server-Sent Events. */
const EVENT_STREAM_FORMATS: ReadonlySet<string> = new Set(["bedrock-invoke", "bedrock-converse"]);

/** Methods a declared or pass-through endpoint can have; anything else is refused before it is read. */
const FORWARDED_METHODS = new Set(["GET", "POST", "PATCH", "DELETE"]);

/** What forward rejects with when the upstream gave no answer at all (src/proxy/transport.ts). */
const UNANSWERED: ReadonlySet<string> = new Set(["upstream_unavailable", "upstream_timeout"]);

/** Statuses worth trying the next model for: rate limits, overload and server errors. */
function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 529 || (status >= 500 && status <= 599);
}

function providerErrorResponse(c: Context<AppEnv>, provider: ProviderDescriptor, error: GatewayError, requestId: string): Response {
  const headers: Record<string, string> = { "content-type": "application/json", "x-gatehouse-request-id": requestId, ...provider.errorHeaders?.(error) };
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
