import type { PolicyConfig } from "../config/policy-schema.ts";
import type { CircuitBreaker } from "./breaker.ts";

export interface Route {
  /** The model sent upstream (without provider prefix). */
  model: string;
  /** Next models to try, in order, on 429/5xx or a connection failure before any byte reached the client. */
  fallbacks: string[];
}

/**
 * Resolves a requested model name through `routing.aliases`. The chain is filtered to
 * the provider the request came in on (a route cannot change wire format) and to models
 * the caller may use; models with an open circuit move to the back. Undefined when the
 * name is not an alias or no model of the chain is usable on this route.
 */
export function resolveRoute(policy: PolicyConfig | undefined, providerId: string, requested: string | undefined, allowed: (model: string) => boolean, breaker: CircuitBreaker, now: number): Route | "none_allowed" | undefined {
  if (!policy || requested === undefined) return undefined;
  const chain = policy.routing.aliases[requested];
  if (!chain) return undefined;
  const candidates: string[] = [];
  for (const ref of chain) {
    const slash = ref.indexOf("/");
    if (ref.slice(0, slash) !== providerId) continue;
    const model = ref.slice(slash + 1);
    if (allowed(model) && !candidates.includes(model)) candidates.push(model);
  }
  if (candidates.length === 0) return "none_allowed";
  const healthy: string[] = [];
  const open: string[] = [];
  for (const model of candidates) (breaker.isOpen(`${providerId}/${model}`, now) ? open : healthy).push(model);
  // When every circuit is open the first model is still tried: refusing outright would turn a partial outage into a total one.
  const ordered = [...healthy, ...open];
  const [model, ...fallbacks] = ordered as [string, ...string[]];
  return { model, fallbacks };
}
