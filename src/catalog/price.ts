import type { OrgConfig, ProviderId } from "../config/index.ts";
import { providerById } from "../providers/index.ts";
import type { ModelPrice, PriceTier } from "../usage/index.ts";
import type { Catalog } from "./catalog.ts";
import { canonicalModelId, stripDateSuffix, stripModelPrefix } from "./match.ts";
import type { CatalogCost, CatalogModel } from "./schema.ts";

export interface ResolvedPrice {
  price: ModelPrice;
  source: "override" | "catalog";
}

/** Per-(provider, model) resolutions kept at most; ids come from clients, so the cache is bounded. */
export const PRICE_CACHE_LIMIT = 4096;

interface PriceCache {
  catalogVersion: number;
  config: OrgConfig;
  entries: Map<string, ResolvedPrice | null>;
}

const caches = new WeakMap<Catalog, PriceCache>();

/**
 * The price of `model` served on gateway route `providerId`. An org override
 * (`pricing["<providerId>/<model>"]`, also matched without a `models/` prefix or date
 * suffix) wins over the catalog. On the hot path, so resolutions are cached per
 * (provider, model) and dropped whenever the catalog refreshes or the config object is
 * replaced (ConfigHolder swaps the whole object on reload).
 */
export function resolvePrice(catalog: Catalog, orgConfig: OrgConfig, providerId: ProviderId, model: string): ResolvedPrice | undefined {
  let cache = caches.get(catalog);
  if (!cache || cache.catalogVersion !== catalog.version || cache.config !== orgConfig) {
    cache = { catalogVersion: catalog.version, config: orgConfig, entries: new Map() };
    caches.set(catalog, cache);
  }
  const key = `${providerId}/${model}`;
  const cached = cache.entries.get(key);
  if (cached !== undefined) return cached ?? undefined;
  const resolved = resolveUncached(catalog, orgConfig, providerId, model);
  if (cache.entries.size >= PRICE_CACHE_LIMIT) cache.entries.clear();
  cache.entries.set(key, resolved ?? null);
  return resolved;
}

/** The models.dev provider id whose prices apply to a gateway route. */
export function catalogProviderFor(orgConfig: OrgConfig, providerId: ProviderId): string | undefined {
  return orgConfig.providers[providerId]?.catalogProvider ?? providerById(providerId).defaultCatalogProvider;
}

function resolveUncached(catalog: Catalog, orgConfig: OrgConfig, providerId: ProviderId, model: string): ResolvedPrice | undefined {
  const override = findOverride(orgConfig, providerId, model);
  if (override) return { price: override, source: "override" };
  const named = namedCompatCatalog(orgConfig, providerId, model);
  const catalogProvider = named ? named.catalogProvider : catalogProviderFor(orgConfig, providerId);
  if (catalogProvider === undefined) return undefined;
  const catalogModel = named ? named.model : model;
  // The id itself first; then the ids the provider says it is the same model as (Bedrock's `us.anthropic.…` profiles).
  for (const id of [catalogModel, ...(providerById(providerId).catalogModelFallbacks?.(catalogModel) ?? [])]) {
    const entry = catalog.findModel(catalogProvider, id);
    const price = entry ? modelPrice(entry) : undefined;
    if (price) return { price, source: "catalog" };
  }
  return undefined;
}

/**
 * A named compat upstream's model (`compat` + `vllm/llama-3.3-70b`) is priced in that
 * upstream's catalog provider under its own id; an upstream without one has no catalog price
 * (only a `pricing:` override). Undefined for every other model.
 */
function namedCompatCatalog(orgConfig: OrgConfig, providerId: ProviderId, model: string): { catalogProvider: string | undefined; model: string } | undefined {
  const upstreams = providerId === "compat" ? orgConfig.providers.compat?.upstreams : undefined;
  if (!upstreams) return undefined;
  const slash = model.indexOf("/");
  const name = model.slice(0, Math.max(0, slash));
  const named = name !== "" && Object.hasOwn(upstreams, name) ? upstreams[name] : undefined;
  return named ? { catalogProvider: named.catalogProvider, model: model.slice(slash + 1) } : undefined;
}

function findOverride(orgConfig: OrgConfig, providerId: ProviderId, model: string): ModelPrice | undefined {
  const pricing = orgConfig.pricing;
  const exact = pricing[`${providerId}/${model}`];
  if (exact) return exact;
  const undated = stripDateSuffix(stripModelPrefix(model));
  if (undated !== model) {
    const loose = pricing[`${providerId}/${undated}`];
    if (loose) return loose;
  }
  const canonical = canonicalModelId(model);
  for (const [key, price] of Object.entries(pricing)) {
    const slash = key.indexOf("/");
    if (key.slice(0, slash) === providerId && canonicalModelId(key.slice(slash + 1)) === canonical) return price;
  }
  return undefined;
}

/** A catalog entry's cost as a ModelPrice, or undefined when it has none. */
export function modelPrice(model: CatalogModel): ModelPrice | undefined {
  const cost = model.cost;
  if (!cost) return undefined;
  const tiers = priceTiers(cost);
  return {
    input: cost.input,
    output: cost.output,
    cacheRead: cost.cache_read ?? cost.cached_input,
    cacheWrite: cost.cache_write,
    reasoning: cost.reasoning,
    ...(tiers.length > 0 ? { tiers } : {}),
  };
}

function priceTiers(cost: CatalogCost): PriceTier[] {
  const tiers: PriceTier[] = [];
  for (const tier of cost.tiers ?? []) {
    // Only context-size tiers are understood; a tier of another kind is not guessed at.
    if (tier.tier.type !== undefined && tier.tier.type !== "context") continue;
    if (tier.input === undefined || tier.output === undefined) continue;
    tiers.push({
      aboveInputTokens: tier.tier.size,
      price: { input: tier.input, output: tier.output, cacheRead: tier.cache_read, cacheWrite: tier.cache_write, reasoning: tier.reasoning },
    });
  }
  // models.dev's older spelling of the first context tier. Its api.json still writes it beside
  // `tiers`, as a copy of the first tier whatever that tier's size (gpt-6-sol: a 272K tier and a
  // "context_over_200k" with the same rates), so with context tiers it is that copy, not a 200K tier.
  const over200k = cost.context_over_200k;
  if (over200k && tiers.length === 0) {
    tiers.push({ aboveInputTokens: 200_000, price: { input: over200k.input, output: over200k.output, cacheRead: over200k.cache_read, cacheWrite: over200k.cache_write } });
  }
  return tiers;
}
