import type { PolicyConfig } from "../config/policy-schema.ts";
import { isProviderId, providerById, type ProviderDescriptor, type RequestShape } from "../providers/index.ts";
import type { RouteTarget } from "../proxy/index.ts";
import type { CircuitBreaker } from "./breaker.ts";

export interface Route {
  /** The targets in the order they are tried: the first, then the next on 429/5xx or a connection failure before any byte reached the client. */
  chain: readonly [RouteTarget, ...RouteTarget[]];
}

/** What routing needs to know about the caller and the org: may the caller use it, is the provider configured. */
export interface RouteFilter {
  allowed(providerId: string, model: string): boolean;
  configured(providerId: string): boolean;
}

/**
 * Whether an entry on `target` can serve a request that came in on `from`'s endpoint
 * without changing the client's wire format: the same provider always; another one only
 * when `from`'s endpoint is the source of a wire family `target` is a target of, for a
 * model `target` serves in that family (docs/gateway.md, "Fallback across providers").
 */
export function crossesTo(from: ProviderDescriptor, endpoint: string, target: ProviderDescriptor, model: string): boolean {
  if (target.id === from.id) return true;
  const source = from.wireFamily;
  const there = target.wireFamily;
  if (!source || source.role !== "source" || !source.endpoints.includes(endpoint)) return false;
  if (!there || there.role !== "target" || there.family !== source.family) return false;
  return there.servesModel ? there.servesModel(model) : true;
}

/**
 * Resolves a requested model name through `routing.aliases`. The chain keeps the entries on
 * the provider the request came in on, and those on providers that serve the same wire
 * format exactly (crossesTo), configured on this gateway, that the caller may use; models
 * with an open circuit (keyed `provider/model`) move to the back. Undefined when the name is
 * not an alias; none_allowed when no entry of the chain is usable on this route.
 */
export function resolveRoute(policy: PolicyConfig | undefined, from: ProviderDescriptor, shape: Pick<RequestShape, "endpoint" | "model">, filter: RouteFilter, breaker: CircuitBreaker, now: number): Route | "none_allowed" | undefined {
  const requested = shape.model;
  if (!policy || requested === undefined) return undefined;
  const chain = policy.routing.aliases[requested];
  if (!chain) return undefined;
  const candidates: RouteTarget[] = [];
  for (const ref of chain) {
    const slash = ref.indexOf("/");
    const providerId = ref.slice(0, slash);
    const model = ref.slice(slash + 1);
    if (!isProviderId(providerId)) continue;
    const provider = providerById(providerId);
    if (!crossesTo(from, shape.endpoint, provider, model)) continue;
    if (provider.id !== from.id && !filter.configured(provider.id)) continue;
    if (!filter.allowed(provider.id, model)) continue;
    if (!candidates.some((c) => c.provider.id === provider.id && c.model === model)) candidates.push({ provider, model });
  }
  if (candidates.length === 0) return "none_allowed";
  const healthy: RouteTarget[] = [];
  const open: RouteTarget[] = [];
  for (const target of candidates) (breaker.isOpen(`${target.provider.id}/${target.model}`, now) ? open : healthy).push(target);
  // When every circuit is open the first model is still tried: refusing outright would turn a partial outage into a total one.
  return { chain: [...healthy, ...open] as [RouteTarget, ...RouteTarget[]] };
}
