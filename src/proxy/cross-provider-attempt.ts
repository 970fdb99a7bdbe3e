import type { Context } from "hono";
import type { AppEnv } from "../core/app.ts";
import type { AppDeps } from "../core/deps.ts";
import { GatewayError } from "../core/errors.ts";
import type { UpstreamProviderConfig } from "../config/index.ts";
import { isPoolExhausted, type JsonObject, type KeyPool, type ProviderDescriptor, type RequestShape } from "../providers/index.ts";
import { crossProviderAttempt, crossProviderErrorCode } from "./cross-provider.ts";
import { forwardRequestHeaders, gatewayHeaders } from "./headers.ts";
import { createMeteringTap, ledgerRow, type MeteringServices, type RequestRecord } from "./metering.ts";
import type { RequestListener } from "./observer.ts";
import { configuredRoute, keyPoolCache, reportingTo, type ConfiguredRoute } from "./route.ts";
import { isRetrySignal, type ForwardOptions, type IncomingHead, type ProxyTransport, type ResponseTap, type UpstreamRequest } from "./transport.ts";
import type { UpstreamAuth } from "./upstream-auth.ts";
import { upstreamUrl } from "./url.ts";

/** The configured routes of the providers fallbacks cross to, each with its own key-pool cache (one provider's reload never empties another's). */
export function crossProviderRoutes(deps: AppDeps, upstreamAuth: UpstreamAuth | undefined): (target: ProviderDescriptor) => ConfiguredRoute {
  const pools = new Map<string, (config: UpstreamProviderConfig) => KeyPool | undefined>();
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
  /** Gives the caller's concurrency slot back when the answer is the gateway's own (no tap ends it). */
  releaseSlot: () => void;
  /** When false, a 429/5xx from this provider is the client's answer (nothing left to fall back to). */
  isLast: boolean;
  streaming: boolean;
  /** The client-shaped error answer (the provider's error body and headers the client's SDK reads). */
  errorResponse: (error: GatewayError, status: number) => Response;
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
 * serves it. An error answer from it never reaches the client as it is (its body is in that
 * provider's shape): a 429/5xx moves on while a target is left, anything else becomes the
 * client provider's error body with the same status (401/403, the gateway's own credentials
 * refused, a 502).
 */
export async function attemptOnOtherProvider(x: CrossAttemptContext): Promise<CrossAttemptOutcome> {
  const targetRecord: RequestRecord = { ...x.record, provider: x.target, requestedProvider: x.from };
  const translated = crossProviderAttempt(x.from, x.target, x.shape, x.body, x.model, x.head.headers);
  if (!translated) {
    // Routing keeps only entries with a translation; a chain that still names one fails this attempt, never forwards it unchanged.
    return { failed: new GatewayError("not_configured", `Requests to ${x.from.displayName}'s ${x.shape.endpoint} endpoint cannot be served by ${x.target.displayName}.`), record: targetRecord, shape: { ...x.shape, model: x.model }, serverAddress: undefined };
  }
  let route: ConfiguredRoute;
  let serverAddress: string | undefined;
  try {
    route = x.routeFor(x.target);
    serverAddress = hostOf(route.base);
  } catch (err) {
    if (err instanceof GatewayError) return { failed: err, record: targetRecord, shape: translated.shape, serverAddress: undefined };
    throw err;
  }
  let key = route.key;
  let keyName: string | undefined;
  if (route.pool) {
    const picked = route.pool.pick(new Set());
    if (isPoolExhausted(picked)) return { failed: new GatewayError("rate_limited", `Every key of provider ${x.target.id} is cooling down; retry after ${picked.retryAfterSeconds}s.`, { retryAfterSeconds: picked.retryAfterSeconds }), record: targetRecord, shape: translated.shape, serverAddress };
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
    sse: x.shape.streaming ? {} : undefined,
    responseHeaders: { "x-gatehouse-request-id": x.requestId },
    streamErrorEvent: streamError("The upstream provider connection failed mid-stream; the answer is incomplete."),
    streamErrorFor: x.shape.streaming ? streamError : undefined,
    headerTimeoutMs: x.settings.upstreamHeaderTimeoutMs,
    idleTimeoutMs: x.settings.upstreamIdleTimeoutMs,
    clientWriteTimeoutMs: x.settings.clientWriteTimeoutMs,
    streaming: x.streaming,
    // Its error bodies are in its own shape: none passes to the client as it is.
    retryOn: (status) => status >= 400,
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
  if (!x.isLast && x.isRetryable(result.status)) return { retry: result.status, serverAddress };

  // The client's answer: this provider's error status, in the client provider's error shape.
  const status = result.status;
  x.listener?.attempted?.({ attempt: x.attempt, model: x.model, provider: x.target, status, serverAddress, retried: false, keyName });
  const code = crossProviderErrorCode(status);
  const retryAfter = status === 429 && result.retryAfter !== undefined && /^\d+$/.test(result.retryAfter) ? Number(result.retryAfter) : undefined;
  const error = new GatewayError(code, `${x.target.displayName}, the fallback for model ${x.requestedModel ?? x.model}, answered ${status} for ${x.model}: ${fallbackErrorHint(code, x.target, x.model)}`, retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {});
  const answerStatus = code === "upstream_unavailable" && (status === 401 || status === 403) ? 502 : status;
  const row = ledgerRow(targetRecord, translated.shape, answerStatus, "completed", `upstream_${status}`);
  row.model = x.model;
  row.requested_model = x.requestedModel ?? null;
  row.attempts = x.attempt;
  row.key_name = keyName ?? null;
  x.releaseSlot();
  x.listener?.ended({ outcome: "completed", status: answerStatus, errorCode: `upstream_${status}`, row });
  return { answered: x.errorResponse(error, answerStatus) };
}

/** What the client (or its administrator) can do about a fallback provider's error, which it never sees in that provider's words. */
function fallbackErrorHint(code: ReturnType<typeof crossProviderErrorCode>, target: ProviderDescriptor, model: string): string {
  if (code === "rate_limited" || code === "upstream_timeout" || code === "upstream_unavailable") return "the fallback is unavailable too; retry later.";
  return `the request is one ${target.displayName} does not take (a field or beta its API lacks, or a model it does not serve); send it without that, or ask an administrator to check ${target.id}/${model} in the alias's chain.`;
}

function hostOf(base: string): string | undefined {
  try {
    return new URL(base).host;
  } catch (err) {
    if (err instanceof TypeError) return undefined;
    throw err;
  }
}
