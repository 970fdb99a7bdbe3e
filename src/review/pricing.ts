import { createPricer, type Catalog } from "../catalog/index.ts";
import type { OrgConfig } from "../config/index.ts";
import { parseModelRef } from "./model/types.ts";
import type { Pricer } from "./run.ts";

/** Prices review tokens with the gateway's own pricer (the same catalog and org overrides the ledger uses). */
export function catalogPricer(catalog: Catalog, orgConfig: OrgConfig): Pricer {
  const price = createPricer(catalog, { current: () => orgConfig });
  return (ref, usage) => {
    const { provider, model } = parseModelRef(ref);
    return price(provider, model, usage);
  };
}
