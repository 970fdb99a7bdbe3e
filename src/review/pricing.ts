import { resolvePrice, type Catalog } from "../catalog/index.ts";
import type { OrgConfig } from "../config/index.ts";
import { priceUsage } from "../usage/index.ts";
import { parseModelRef } from "./model/types.ts";
import type { Pricer } from "./run.ts";

/** Prices review tokens with the same catalog and org overrides the gateway's ledger uses. */
export function catalogPricer(catalog: Catalog, orgConfig: OrgConfig): Pricer {
  return (ref, usage) => {
    const { provider, model } = parseModelRef(ref);
    const resolved = resolvePrice(catalog, orgConfig, provider, model);
    return resolved ? priceUsage(usage, resolved.price) : undefined;
  };
}
