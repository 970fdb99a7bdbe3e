import type { AppDeps } from "../core/deps.ts";
import { GatewayError } from "../core/errors.ts";
import type { UpstreamProviderConfig } from "../config/index.ts";
import { createKeyPool, type KeyPool, type PoolExhausted, type ProviderDescriptor } from "../providers/index.ts";
import type { ResponseTap } from "./transport.ts";
import type { UpstreamAuth, UpstreamSigner } from "./upstream-auth.ts";
import { aiGatewayUpstream, signedForProviderHost } from "./ai-gateway.ts";

/** The configured route to a provider: its config, upstream base URL and key, or its signer. */
export interface ConfiguredRoute {
  config: UpstreamProviderConfig;
  base: string;
  key: string | undefined;
  /** Cloud routes: the account's path (project, location) put into the forwarded path. */
  forwardPath: (path: string) => string;
  signer: UpstreamSigner | undefined;
  /** A key pool (`providers.<id>.keys`): each attempt takes its key from it instead of `key`. */
  pool: KeyPool | undefined;
  /** Headers the route adds for a caller, after every other (Cloudflare AI Gateway's cf-aig-authorization and cf-aig-metadata). */
  upstreamHeaders: ((callerId: string) => Record<string, string>) | undefined;
}

/**
 * One key pool per upstream (the provider's, or a named compat upstream's: `slot`), kept
 * across requests; a reload that changes an upstream's keys starts a new pool for it.
 */
export function keyPoolCache(deps: Pick<AppDeps, "secrets" | "clock">): PoolFor {
  const pools = new Map<string, { id: string; pool: KeyPool }>();
  return (config, slot = "") => {
    if (!config.keys) return undefined;
    const id = JSON.stringify(config.keys);
    let entry = pools.get(slot);
    if (!entry || entry.id !== id) {
      entry = { id, pool: createKeyPool(config.keys, (env) => deps.secrets.get(env), deps.clock) };
      pools.set(slot, entry);
    }
    return entry.pool;
  };
}

/** The key pool of an upstream's `keys`, by upstream slot ("" for the provider's own). */
export type PoolFor = (config: Pick<UpstreamProviderConfig, "keys">, slot?: string) => KeyPool | undefined;

/** The provider's configured upstream and key (or signer), or not_configured saying what to set. */
export function configuredRoute(
  provider: ProviderDescriptor,
  deps: AppDeps,
  upstreamAuth: UpstreamAuth | undefined,
  poolFor: PoolFor,
  /** A named compat upstream (`providers.compat.upstreams.<name>`): its own base, key or pool, and pinned headers. */
  upstreamName?: string,
): ConfiguredRoute {
  const config = deps.config.current().providers[provider.id];
  if (!config) throw new GatewayError("not_configured", `Provider ${provider.id} is not configured on this gateway (add it under providers: in gatehouse.yaml).`);
  if (upstreamName !== undefined) return namedCompatRoute(provider, deps, config, upstreamName, poolFor);
  const direct = directRoute(provider, deps, upstreamAuth, poolFor, config);
  const via = aiGatewayUpstream(provider, config, deps.secrets);
  if (!via) return direct;
  // Through AI Gateway: its URL in front of the provider's path; with BYOK no provider key leaves.
  return {
    ...direct,
    base: via.base,
    forwardPath: (path) => via.forwardPath(direct.forwardPath(path)),
    signer: direct.signer ? signedForProviderHost(direct.signer, via.base, direct.base) : undefined,
    upstreamHeaders: via.headers,
  };
}

function directRoute(provider: ProviderDescriptor, deps: AppDeps, upstreamAuth: UpstreamAuth | undefined, poolFor: PoolFor, config: UpstreamProviderConfig): ConfiguredRoute {
  // BYOK through AI Gateway: the gateway adds its stored key, so none is read, needed or sent.
  if (config.via?.cloudflareAiGateway?.byok) return { config, base: provider.defaultUpstream ?? "", key: undefined, forwardPath: samePath, signer: undefined, pool: undefined, upstreamHeaders: undefined };
  if (provider.cloudUpstream) {
    const cloud = provider.cloudUpstream({ region: config.region, project: config.project, location: config.location });
    const signer = upstreamAuth?.signerFor(provider, config);
    if (!signer) throw new GatewayError("not_configured", `Provider ${provider.id} signs its requests with cloud credentials, and this gateway has no signer for them.`);
    return { config, base: config.upstream ?? cloud.defaultBase, key: undefined, forwardPath: cloud.forwardPath, signer, pool: undefined, upstreamHeaders: undefined };
  }
  // Via AI Gateway the provider's own base is not used (compat has none): the gateway's replaces it.
  const base = config.upstream ?? provider.upstreamForAccount?.({ region: config.region, project: config.project, location: config.location, resource: config.resource }) ?? provider.defaultUpstream ?? (config.via ? "" : undefined);
  if (base === undefined) throw new GatewayError("not_configured", `Provider ${provider.id} is not configured on this gateway (add it under providers: in gatehouse.yaml).`);
  const pool = poolFor(config);
  if (pool) {
    // The env names are not secrets; an administrator needs them to fix this.
    if (pool.names().length === 0) throw new GatewayError("not_configured", `No key of provider ${provider.id}'s key pool has a value: set ${(config.keys ?? []).map((k) => k.env).join(" or ")} in the gateway's environment or secrets file.`);
    return { config, base, key: undefined, forwardPath: samePath, signer: undefined, pool, upstreamHeaders: undefined };
  }
  const keyName = config.apiKeyEnv ?? provider.defaultApiKeyEnv;
  const key = deps.secrets.get(keyName);
  // The env var's name is not a secret; an administrator needs it to fix this.
  if (!key && !provider.keyOptional) throw new GatewayError("not_configured", `No key is configured for provider ${provider.id}: set ${keyName} in the gateway's environment or secrets file.`);
  return { config, base, key, forwardPath: samePath, signer: undefined, pool: undefined, upstreamHeaders: undefined };
}

const samePath = (path: string): string => path;

/**
 * A named compat upstream's route, always direct (the config refuses `via` beside `upstreams`):
 * nothing key-related comes from the unnamed default, so one upstream's key never reaches another.
 */
function namedCompatRoute(provider: ProviderDescriptor, deps: AppDeps, providerConfig: UpstreamProviderConfig, name: string, poolFor: PoolFor): ConfiguredRoute {
  const named = providerConfig.upstreams && Object.hasOwn(providerConfig.upstreams, name) ? providerConfig.upstreams[name] : undefined;
  if (!named) throw new GatewayError("not_found", `No compat upstream named "${name}" is configured on this gateway.`);
  const { upstreams: _upstreams, ...shared } = providerConfig;
  const config: UpstreamProviderConfig = {
    ...shared,
    upstream: named.upstream,
    apiKeyEnv: named.apiKeyEnv,
    keys: named.keys,
    catalogProvider: named.catalogProvider,
    name: named.name,
    models: named.models,
    whitelist: named.whitelist,
    pinHeaders: named.pinHeaders,
  };
  const direct = { config, base: named.upstream, forwardPath: samePath, signer: undefined, upstreamHeaders: undefined };
  // The pool's keys are named `<upstream>/<key>` in the ledger's key_name and /metrics: two upstreams' "main" keys stay apart.
  const pool = poolFor({ keys: named.keys?.map((k) => ({ ...k, name: `${name}/${k.name}` })) }, `upstream:${name}`);
  if (pool) {
    if (pool.names().length === 0) throw new GatewayError("not_configured", `No key of compat upstream ${name}'s key pool has a value: set ${(named.keys ?? []).map((k) => k.env).join(" or ")} in the gateway's environment or secrets file.`);
    return { ...direct, key: undefined, pool };
  }
  const key = named.apiKeyEnv === undefined ? undefined : deps.secrets.get(named.apiKeyEnv);
  // A named key that is configured but has no value is a mistake, not an open server: refused.
  if (named.apiKeyEnv !== undefined && !key) throw new GatewayError("not_configured", `No key is configured for compat upstream ${name}: set ${named.apiKeyEnv} in the gateway's environment or secrets file.`);
  if (!key && !provider.keyOptional) throw new GatewayError("not_configured", `No key is configured for compat upstream ${name}: set apiKeyEnv or keys under providers.compat.upstreams.${name}.`);
  return { ...direct, key, pool: undefined };
}

/** A tap that tells the key pool how the upstream answered its key: a 429 or 5xx that reaches the client cools the key for its own retry-after. */
export function reportingTo(pool: KeyPool, keyName: string, tap: ResponseTap): ResponseTap {
  return {
    onResponse(status, retryAfter) {
      pool.report(keyName, status, retryAfter);
      tap.onResponse(status, retryAfter);
    },
    onChunk: (chunk) => tap.onChunk(chunk),
    onEnd: (outcome, failure) => tap.onEnd(outcome, failure),
  };
}

/**
 * The refusal when no key of a pool can be used now, with when to come back: a rate limit
 * (429) when the provider rate-limited or failed the keys, or they are at their per-key limit;
 * the provider unreachable (502) when every key is cooling because it gave no answer at all.
 * Never a forward without a key.
 */
export function poolExhaustedError(provider: ProviderDescriptor, picked: PoolExhausted): GatewayError {
  const retry = { retryAfterSeconds: picked.retryAfterSeconds };
  if (picked.unreachable) return new GatewayError("upstream_unavailable", `Provider ${provider.id} gave no answer on any key of its pool (connection refused, reset or timed out); every key is cooling down: retry after ${picked.retryAfterSeconds}s.`, retry);
  return new GatewayError("rate_limited", `Every key of provider ${provider.id} is cooling down after rate limits or errors from the provider, or at its per-key limit; retry after ${picked.retryAfterSeconds}s.`, retry);
}

/** The upstream's host for the log (never its userinfo or path). */
export function hostOf(base: string): string | undefined {
  try {
    return new URL(base).host;
  } catch (err) {
    if (err instanceof TypeError) return undefined;
    throw err;
  }
}
