/**
 * What discovery needs from the catalog (src/catalog, models.dev refreshed hourly): the
 * current models of one catalog provider. Kept as a narrow port so discovery does not
 * depend on the catalog's internals.
 */
export interface CatalogModelInfo {
  id: string;
  name?: string | undefined;
  limit?: { context?: number | undefined; output?: number | undefined } | undefined;
}

export interface ModelLister {
  listModels(catalogProviderId: string): readonly CatalogModelInfo[];
}

export const emptyModelLister: ModelLister = { listModels: () => [] };
