import type { OrgConfig, ProviderId } from "../config/index.ts";
import { priceUsage, type TokenUsage } from "../usage/index.ts";
import type { Catalog } from "./catalog.ts";
import { resolvePrice } from "./price.ts";

/** Prices a usage of provider/model in USD; undefined when the model has no known price. */
export type Pricer = (provider: ProviderId, model: string, usage: TokenUsage) => number | undefined;

/**
 * The one route from usage to cost: the policy's reservation estimate and the ledger row's
 * cost both price through it, so a reservation and its settle can never disagree on a
 * price. Reads `config.current()` on every call, so a reloaded `pricing:` applies at once
 * (resolutions are cached in `resolvePrice`, keyed by the config object).
 */
export function createPricer(catalog: Catalog, config: { current(): OrgConfig }): Pricer {
  return (provider, model, usage) => {
    const resolved = resolvePrice(catalog, config.current(), provider, model);
    return resolved ? priceUsage(usage, resolved.price) : undefined;
  };
}
