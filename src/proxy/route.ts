import type { AppDeps } from "../core/deps.ts";
import { GatewayError } from "../core/errors.ts";
import type { UpstreamProviderConfig } from "../config/index.ts";
import { createKeyPool, type KeyPool, type ProviderDescriptor } from "../providers/index.ts";
import type { ResponseTap } from "./transport.ts";
import type { UpstreamAuth, UpstreamSigner } from "./upstream-auth.ts";

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
}

/** One key pool per provider config, kept across requests; a reload that changes the keys starts a new pool. */
export function keyPoolCache(deps: Pick<AppDeps, "secrets" | "clock">): (config: UpstreamProviderConfig) => KeyPool | undefined {
  const pools = new Map<string, KeyPool>();
  return (config) => {
    if (!config.keys) return undefined;
    const id = JSON.stringify(config.keys);
    let pool = pools.get(id);
    if (!pool) {
      pools.clear();
      pool = createKeyPool(config.keys, (env) => deps.secrets.get(env), deps.clock);
      pools.set(id, pool);
    }
    return pool;
  };
}

/** The provider's configured upstream and key (or signer), or not_configured saying what to set. */
export function configuredRoute(provider: ProviderDescriptor, deps: AppDeps, upstreamAuth: UpstreamAuth | undefined, poolFor: (config: UpstreamProviderConfig) => KeyPool | undefined): ConfiguredRoute {
  const config = deps.config.current().providers[provider.id];
  if (!config) throw new GatewayError("not_configured", `Provider ${provider.id} is not configured on this gateway (add it under providers: in gatehouse.yaml).`);
  if (provider.cloudUpstream) {
    const cloud = provider.cloudUpstream({ region: config.region, project: config.project, location: config.location });
    const signer = upstreamAuth?.signerFor(provider, config);
    if (!signer) throw new GatewayError("not_configured", `Provider ${provider.id} signs its requests with cloud credentials, and this gateway has no signer for them.`);
    return { config, base: config.upstream ?? cloud.defaultBase, key: undefined, forwardPath: cloud.forwardPath, signer, pool: undefined };
  }
  const base = config.upstream ?? provider.defaultUpstream;
  if (!base) throw new GatewayError("not_configured", `Provider ${provider.id} is not configured on this gateway (add it under providers: in gatehouse.yaml).`);
  const pool = poolFor(config);
  if (pool) {
    // The env names are not secrets; an administrator needs them to fix this.
    if (pool.names().length === 0) throw new GatewayError("not_configured", `No key of provider ${provider.id}'s key pool has a value: set ${(config.keys ?? []).map((k) => k.env).join(" or ")} in the gateway's environment or secrets file.`);
    return { config, base, key: undefined, forwardPath: samePath, signer: undefined, pool };
  }
  const keyName = config.apiKeyEnv ?? provider.defaultApiKeyEnv;
  const key = deps.secrets.get(keyName);
  // The env var's name is not a secret; an administrator needs it to fix this.
  if (!key && !provider.keyOptional) throw new GatewayError("not_configured", `No key is configured for provider ${provider.id}: set ${keyName} in the gateway's environment or secrets file.`);
  return { config, base, key, forwardPath: samePath, signer: undefined, pool: undefined };
}

const samePath = (path: string): string => path;

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
