import type { Context } from "hono";
import type { AppEnv } from "../core/app.ts";
import type { AppDeps } from "../core/deps.ts";
import { GatewayError } from "../core/errors.ts";
import { isPoolExhausted, type JsonObject, type ProviderDescriptor, type RequestShape } from "../providers/index.ts";
import { crossProviderAttempt, type CrossProviderAttempt } from "./cross-provider.ts";
import { crossProviderErrorBody } from "./cross-provider-error.ts";
import { forwardRequestHeaders, gatewayHeaders } from "./headers.ts";
import { createMeteringTap, type MeteringServices, type RequestRecord } from "./metering.ts";
import type { RequestListener } from "./observer.ts";
import { configuredRoute, hostOf, keyPoolCache, poolExhaustedError, reportingTo, type ConfiguredRoute, type PoolFor } from "./route.ts";
import { isRetrySignal, type ForwardOptions, type IncomingHead, type ProxyTransport, type ResponseTap, type UpstreamRequest } from "./transport.ts";
import type { UpstreamAuth } from "./upstream-auth.ts";
import { upstreamUrl } from "./url.ts";

/** The configured routes of the providers fallbacks cross to, each with its own key-pool cache (one provider's reload never empties another's). */
export function crossProviderRoutes(deps: AppDeps, upstreamAuth: UpstreamAuth | undefined): (target: ProviderDescriptor) => ConfiguredRoute {
  const pools = new Map<string, PoolFor>();
  return (target) => {
    let poolFor = pools.get(target.id);
    if (!poolFor) {
      poolFor = keyPoolCache(deps);
      pools.set(target.id, poolFor);
    }
    return configuredRoute(target, deps, upstreamAuth, poolFor);
  };
}

/** Everything one attempt on another provider needs from the request's pipeline. */
export interface CrossAttemptContext {
  c: Context<AppEnv>;
  transport: ProxyTransport;
  /** The provider the request came in on: the client's wire format and error shape. */
  from: ProviderDescriptor;
  target: ProviderDescriptor;
  model: string;
  routeFor: (target: ProviderDescriptor) => ConfiguredRoute;
  head: IncomingHead;
  /** The request as classified (the client's shape and body); neither is changed here. */
  shape: RequestShape;
  body: JsonObject | undefined;
  record: RequestRecord;
  attempt: number;
  requestedModel: string | undefined;
  listener: RequestListener | undefined;
  metering: MeteringServices;
  /** Request headers never forwarded (every provider's credential and billing headers, the JSON body's encoding). */
  stripped: readonly string[];
  userIdHeader: string;
  requestId: string;
  settings: AppDeps["settings"];
  /** Wraps the answering tap (the caller's concurrency slot). */
  wrapTap: (tap: ResponseTap) => ResponseTap;
  /** When true, a 429/5xx from this provider is the client's answer (nothing left to fall back to). */
  isLast: boolean;
  streaming: boolean;
  /** Drops a complete event from a streamed answer (the usage chunk the gateway asked for and the client did not). */
  dropEvent?: ((event: Uint8Array) => boolean) | undefined;
  /** Statuses worth trying the next target for. */
  isRetryable: (status: number) => boolean;
}

/** What the attempt came to: the client's answer (with its `ended` reported), a status to fall back from, or a failure before any answer. */
export type CrossAttemptOutcome = { answered: Response } | { retry: number; serverAddress: string | undefined } | { failed: GatewayError; record: RequestRecord; shape: RequestShape; serverAddress: string | undefined };

/**
 * One fallback attempt on another provider of the client's wire family: that provider's own
 * route (its base, its key or pool, its SigV4 or Google signer: the first provider's key is
 * never in it, and its credentials never go anywhere else), the path and body as it wants
 * them, and its answer in the client's format. It is metered and priced as the provider that
 * serves it. A 429/5xx moves on while a target is left (`retry`); the error answer that
 * reaches the client has its body rewritten into the client provider's error shape, with the
 * provider's status and its own message quoted (src/proxy/cross-provider-error.ts).
 */
export async function attemptOnOtherProvider(x: CrossAttemptContext): Promise<CrossAttemptOutcome> {
  const targetRecord: RequestRecord = { ...x.record, provider: x.target, requestedProvider: x.from };
  const unserved = (error: GatewayError, serverAddress: string | undefined, shape: RequestShape = { ...x.shape, model: x.model }): CrossAttemptOutcome => ({ failed: error, record: targetRecord, shape, serverAddress });
  let route: ConfiguredRoute;
  let translated: CrossProviderAttempt | undefined;
  try {
    route = x.routeFor(x.target);
    translated = crossProviderAttempt(x.from, x.target, x.shape, x.body, x.model, x.head.headers, route.config);
  } catch (err) {
    if (err instanceof GatewayError) return unserved(err, undefined);
    throw err;
  }
  const serverAddress = hostOf(route.base);
  // Routing keeps only entries with a translation; a chain that still names one fails this attempt, never forwards it unchanged.
  if (!translated) return unserved(new GatewayError("not_configured", `Requests to ${x.from.displayName}'s ${x.shape.endpoint} endpoint cannot be served by ${x.target.displayName}.`), serverAddress);
  let key = route.key;
  let keyName: string | undefined;
  if (route.pool) {
    const picked = route.pool.pick(new Set());
    if (isPoolExhausted(picked)) return { failed: poolExhaustedError(x.target, picked), record: targetRecord, shape: translated.shape, serverAddress };
    key = picked.value;
    keyName = picked.name;
  }
  const headers = forwardRequestHeaders(x.head.headers, key ? { placement: x.target.keyPlacement, value: key } : undefined, gatewayHeaders(route.config.pinHeaders, x.userIdHeader, x.record.caller.id, true), [...x.stripped, ...translated.dropHeaders]);
  const bytes = new TextEncoder().encode(JSON.stringify(translated.body));
  headers["content-length"] = String(bytes.byteLength);
  x.listener?.upstreamHeaders?.(x.attempt, headers);
  // Body capture keeps the first attempt's body as it left, here the serving provider's.
  if (x.attempt === 1) x.listener?.requestBody?.(bytes);
  let path: string;
  try {
    path = route.forwardPath(translated.path);
  } catch (err) {
    if (err instanceof GatewayError) return { failed: err, record: targetRecord, shape: translated.shape, serverAddress };
    throw err;
  }
  // Nothing of the client's query crosses (Anthropic's ?beta=true means nothing on the clouds); signed last, over exactly what leaves.
  const unsigned: UpstreamRequest = { url: upstreamUrl(route.base, path, ""), method: "POST", headers, body: bytes };
  let outgoing = unsigned;
  try {
    if (route.signer) outgoing = await route.signer(unsigned);
  } catch (err) {
    if (err instanceof GatewayError) return { failed: err, record: targetRecord, shape: translated.shape, serverAddress };
    throw err;
  }

  const meteringTap = createMeteringTap(targetRecord, { shape: translated.shape, attempt: x.attempt, requestedModel: x.requestedModel, request: { body: translated.body, bytes: bytes.byteLength }, serverAddress, keyName }, x.metering, x.listener);
  const wrapped = x.wrapTap(meteringTap);
  const tap = route.pool && keyName !== undefined ? reportingTo(route.pool, keyName, wrapped) : wrapped;
  const streamError = (message: string) => (x.shape.streaming ? x.from.streamErrorEvent(message, x.shape.format) : undefined);
  const options: ForwardOptions = {
    transform: translated.transform?.(),
    answerContentType: translated.answerContentType,
    sse: x.shape.streaming ? { dropEvent: x.dropEvent } : undefined,
    responseHeaders: { "x-gatehouse-request-id": x.requestId },
    streamErrorEvent: streamError("The upstream provider connection failed mid-stream; the answer is incomplete."),
    streamErrorFor: x.shape.streaming ? streamError : undefined,
    headerTimeoutMs: x.settings.upstreamHeaderTimeoutMs,
    idleTimeoutMs: x.settings.upstreamIdleTimeoutMs,
    clientWriteTimeoutMs: x.settings.clientWriteTimeoutMs,
    streaming: x.streaming,
    // Its error bodies are in its own shape: the one that reaches the client is rewritten into the client provider's.
    errorTransform: (status) => crossProviderErrorBody(status, x.from, x.target, x.requestedModel, x.model, x.requestId),
    errorContentType: "application/json",
    retryOn: x.isLast ? undefined : x.isRetryable,
  };
  let result: Awaited<ReturnType<ProxyTransport["forward"]>>;
  try {
    result = await x.transport.forward(x.c, outgoing, tap, options);
  } catch (err) {
    if (err instanceof GatewayError) {
      // No answer on this key (refused, reset, no headers in time): it cools, as on the provider's own route.
      if (route.pool && keyName !== undefined && (err.code === "upstream_unavailable" || err.code === "upstream_timeout")) route.pool.reportUnanswered(keyName);
      return { failed: err, record: targetRecord, shape: translated.shape, serverAddress };
    }
    throw err;
  }
  if (!isRetrySignal(result)) return { answered: result };
  if (route.pool && keyName !== undefined) route.pool.report(keyName, result.status, result.retryAfter);
  return { retry: result.status, serverAddress };
}
