import { z } from "zod";

/**
 * models.dev `api.json`: `{ [providerId]: { id, name, env, npm, doc, api?, models: {
 * [modelId]: Model } } }`. Schemas are loose (unknown keys kept) so a new models.dev field
 * never breaks parsing; each model is validated on its own so one bad entry is skipped
 * rather than losing the catalog.
 */
const rate = z.number().min(0).finite();

export const catalogCostTierSchema = z.looseObject({
  input: rate.optional(),
  output: rate.optional(),
  cache_read: rate.optional(),
  cache_write: rate.optional(),
  reasoning: rate.optional(),
  tier: z.looseObject({
    size: z.number().int().positive().describe("Prompt tokens above which the tier applies."),
    type: z.string().optional().describe("What `size` measures; only `context` (the default) is understood."),
  }),
});

export const catalogCostSchema = z.looseObject({
  input: rate.describe("USD per million input tokens."),
  output: rate.describe("USD per million output tokens."),
  cache_read: rate.optional(),
  cache_write: rate.optional(),
  /** Some providers' entries spell cache reads this way. */
  cached_input: rate.optional(),
  reasoning: rate.optional(),
  input_audio: rate.optional(),
  output_audio: rate.optional(),
  tiers: z.array(catalogCostTierSchema).optional(),
  /** Older models.dev shape of the >200k-token tier. */
  context_over_200k: z.looseObject({ input: rate, output: rate, cache_read: rate.optional(), cache_write: rate.optional() }).optional(),
});

export const catalogModelSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string(),
  family: z.string().optional(),
  attachment: z.boolean().optional(),
  reasoning: z.boolean().optional(),
  tool_call: z.boolean().optional(),
  temperature: z.boolean().optional(),
  structured_output: z.boolean().optional(),
  interleaved: z.unknown().optional(),
  knowledge: z.string().optional(),
  release_date: z.string().optional(),
  last_updated: z.string().optional(),
  open_weights: z.boolean().optional(),
  status: z.string().optional(),
  modalities: z.looseObject({ input: z.array(z.string()), output: z.array(z.string()) }).optional(),
  cost: catalogCostSchema.optional(),
  limit: z.looseObject({
    context: z.number().min(0),
    output: z.number().min(0),
    input: z.number().min(0).optional(),
  }),
});

export const catalogProviderShellSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string(),
  env: z.array(z.string()).optional(),
  npm: z.string().optional(),
  api: z.string().optional(),
  doc: z.string().optional(),
  models: z.record(z.string(), z.unknown()),
});

export type CatalogModel = z.infer<typeof catalogModelSchema>;
export type CatalogCost = z.infer<typeof catalogCostSchema>;

export interface CatalogProvider {
  id: string;
  name: string;
  env: string[];
  npm: string | undefined;
  api: string | undefined;
  doc: string | undefined;
  models: Map<string, CatalogModel>;
}

export interface CatalogData {
  providers: Map<string, CatalogProvider>;
  modelCount: number;
  /** Models (and providers) skipped because they did not match the schema. */
  skipped: number;
}

/** Lenient parse: a provider or model that does not validate is skipped, the rest kept. */
export function parseCatalog(input: unknown): CatalogData {
  const providers = new Map<string, CatalogProvider>();
  let modelCount = 0;
  let skipped = 0;
  if (input === null || typeof input !== "object" || Array.isArray(input)) return { providers, modelCount, skipped: 1 };
  for (const [key, rawProvider] of Object.entries(input)) {
    const shell = catalogProviderShellSchema.safeParse(rawProvider);
    if (!shell.success) {
      skipped++;
      continue;
    }
    const models = new Map<string, CatalogModel>();
    for (const [modelKey, rawModel] of Object.entries(shell.data.models)) {
      const model = catalogModelSchema.safeParse(rawModel);
      if (!model.success) {
        skipped++;
        continue;
      }
      models.set(modelKey, model.data);
    }
    modelCount += models.size;
    providers.set(key, {
      id: shell.data.id,
      name: shell.data.name,
      env: shell.data.env ?? [],
      npm: shell.data.npm,
      api: shell.data.api,
      doc: shell.data.doc,
      models,
    });
  }
  return { providers, modelCount, skipped };
}
