/** models.dev catalog: model lists, limits, prices; price resolution with org overrides. */
export { Catalog, MIN_REFRESH_SHARE, type RefreshResult } from "./catalog.ts";
export { createBundledCatalog, bundledSnapshot } from "./bundled.ts";
export { resolvePrice, modelPrice, catalogProviderFor, PRICE_CACHE_LIMIT, type ResolvedPrice } from "./price.ts";
export { createPricer, type Pricer } from "./pricer.ts";
export { canonicalModelId } from "./match.ts";
export { parseCatalog, catalogModelSchema, type CatalogModel, type CatalogProvider, type CatalogCost } from "./schema.ts";
