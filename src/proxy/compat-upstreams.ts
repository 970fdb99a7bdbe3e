import type { AppDeps } from "../core/deps.ts";
import { GatewayError } from "../core/errors.ts";
import type { UpstreamProviderConfig } from "../config/index.ts";
import { compatGatewayModel, compatPathUpstream, noDefaultCompatUpstream, splitCompatModel, type KeyPool, type ProviderDescriptor, type RequestShape } from "../providers/index.ts";
import type { CanonicalTarget } from "./canonical.ts";
import { configuredRoute, type ConfiguredRoute } from "./route.ts";
import type { UpstreamAuth } from "./upstream-auth.ts";

type PoolFor = (config: Pick<UpstreamProviderConfig, "keys">, slot?: string) => KeyPool | undefined;

/** The names of `providers.compat.upstreams`, or undefined when the route has none (every other provider). */
export function namedUpstreams(provider: ProviderDescriptor, config: UpstreamProviderConfig): readonly string[] | undefined {
  if (provider.id !== "compat" || config.upstreams === undefined) return undefined;
  const names = Object.keys(config.upstreams);
  return names.length ? names : undefined;
}

/**
 * The request's route before its model is read: the provider's configured route, or, on a
 * compat route with named upstreams, undefined (each attempt's model picks its upstream).
 * Throws not_configured for a provider that is not configured.
 */
export function routeBeforeModel(provider: ProviderDescriptor, deps: AppDeps, upstreamAuth: UpstreamAuth | undefined, poolFor: PoolFor): { config: UpstreamProviderConfig; route: ConfiguredRoute | undefined } {
  const config = deps.config.current().providers[provider.id];
  if (config && namedUpstreams(provider, config)) return { config, route: undefined };
  const route = configuredRoute(provider, deps, upstreamAuth, poolFor);
  return { config: route.config, route };
}

/** The canonical target with a leading upstream name taken out (`/compat/vllm/v1/…` → `/v1/…`, upstream vllm). */
export function namedTarget(provider: ProviderDescriptor, config: UpstreamProviderConfig, target: CanonicalTarget): CanonicalTarget & { upstream: string | undefined } {
  const names = namedUpstreams(provider, config);
  if (!names) return { ...target, upstream: undefined };
  const roots = config.passThrough.map((entry) => entry.path.split("/")[1] ?? "");
  const split = compatPathUpstream(names, roots, target);
  return { ...target, path: split.path, forwardPath: split.forwardPath, upstream: split.upstream };
}

/** The shape with the gateway's model id (`<name>/<model>`), which the ledger, policy and pricing read. */
export function namedShape(provider: ProviderDescriptor, config: UpstreamProviderConfig, upstream: string | undefined, shape: RequestShape, isAlias: (model: string) => boolean): RequestShape {
  const names = namedUpstreams(provider, config);
  if (!names) return shape;
  if (shape.model === undefined) {
    // A request naming no model (a model list, a pass-through path) still reaches one upstream with its key:
    // policy reads it as any model there (`compat/<name>/*`, the default's `compat/*`), so a caller
    // allowed only compat/ollama/* cannot use vllm's key through it. The gateway answers /compat/v1/models itself.
    if (upstream !== undefined) return { ...shape, model: `${upstream}/*` };
    return shape.endpoint === "models.list" ? shape : { ...shape, model: "*" };
  }
  const model = compatGatewayModel(names, upstream, shape.model);
  // Refused before admission when nothing could serve it (an alias is resolved by the policy first).
  if (model !== undefined && upstream === undefined && config.upstream === undefined && splitCompatModel(names, model).upstream === undefined && !isAlias(model)) throw noDefaultCompatUpstream(names, model);
  return { ...shape, model };
}

/**
 * One attempt's route and the model id its upstream gets: the request's route as is, or the
 * named compat upstream the attempt's model names (each fallback to its own upstream and key),
 * the path's upstream for a request without a model, else the unnamed default.
 */
export function attemptRoute(
  provider: ProviderDescriptor,
  deps: AppDeps,
  upstreamAuth: UpstreamAuth | undefined,
  poolFor: PoolFor,
  request: { route: ConfiguredRoute | undefined; config: UpstreamProviderConfig; pathUpstream: string | undefined },
  model: string | undefined,
): { route: ConfiguredRoute; upstreamModel: string | undefined } {
  if (request.route) return { route: request.route, upstreamModel: model };
  const names = namedUpstreams(provider, request.config) ?? [];
  const target = model === undefined ? { upstream: request.pathUpstream, model: undefined } : splitCompatModel(names, model);
  if (target.upstream === undefined && request.config.upstream === undefined) throw noDefaultCompatUpstream(names, model);
  if (target.upstream !== undefined && !names.includes(target.upstream)) throw new GatewayError("not_found", `No compat upstream named "${target.upstream}" is configured on this gateway.`);
  return { route: configuredRoute(provider, deps, upstreamAuth, poolFor, target.upstream), upstreamModel: target.model };
}

/**
 * `GET /compat/v1/models` on a route with named upstreams: answered by the gateway with every
 * upstream's configured models (`models` and `whitelist`), named `<name>/<model>` as they are
 * requested, the unnamed default's under their own ids. `/compat/<name>/v1/models` is
 * forwarded to that upstream's own list instead. Undefined for every other request.
 */
export function namedModelList(provider: ProviderDescriptor, config: UpstreamProviderConfig, endpoint: string, pathUpstream: string | undefined): ((requestId: string) => Response) | undefined {
  if (endpoint !== "models.list" || pathUpstream !== undefined || !namedUpstreams(provider, config)) return undefined;
  const data: Array<{ id: string; object: "model"; created: number; owned_by: string }> = [];
  const add = (owner: string, prefix: string, models: UpstreamProviderConfig["models"], whitelist: readonly string[] | undefined) => {
    for (const id of new Set([...Object.keys(models ?? {}), ...(whitelist ?? [])])) data.push({ id: `${prefix}${id}`, object: "model", created: 0, owned_by: owner });
  };
  if (config.upstream !== undefined) add("compat", "", config.models, config.whitelist);
  for (const [name, named] of Object.entries(config.upstreams ?? {})) add(name, `${name}/`, named.models, named.whitelist);
  const body = JSON.stringify({ object: "list", data });
  return (requestId) => new Response(body, { status: 200, headers: { "content-type": "application/json", "x-gatehouse-request-id": requestId } });
}
