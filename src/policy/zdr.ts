import type { OrgConfig } from "../config/index.ts";
import type { JsonObject, RequestShape } from "../providers/index.ts";
import { globToRegExp, matchesAny } from "./glob.ts";

const compiled = new WeakMap<readonly string[], RegExp[]>();

function zdrPatterns(config: OrgConfig): RegExp[] {
  const models = config.policy?.zdr.models ?? [];
  let patterns = compiled.get(models);
  if (!patterns) {
    patterns = models.map(globToRegExp);
    compiled.set(models, patterns);
  }
  return patterns;
}

/**
 * Whether requests to provider/model must be zero data retention: the provider is marked
 * (`providers.<id>.zeroDataRetention`) or the model matches `policy.zdr.models`. The
 * discovery capability calls this to mark models in the served OpenCode config.
 */
export function isZdr(config: OrgConfig, providerId: string, model: string | undefined): boolean {
  const provider = (config.providers as Record<string, { zeroDataRetention?: boolean } | undefined>)[providerId];
  if (provider?.zeroDataRetention === true) return true;
  if (model === undefined) return false;
  return matchesAny(zdrPatterns(config), `${providerId}/${model}`);
}

/**
 * Endpoints that keep customer data at the provider by design (uploads, batches, stored
 * threads and conversations, fine-tuning, context caches): refused under ZDR.
 */
const RETAINING_PATH = [
  /\/(files|uploads|batches|vector_stores|assistants|threads|fine_tuning|conversations|evals|containers|skills)(\/|$)/,
  /\/messages\/batches(\/|$)/,
  /\/(cachedContents|tunedModels|fileSearchStores|corpora)(\/|$)/,
  /:batchGenerateContent$|:asyncBatchEmbedContent$/,
];

/** Why a request cannot be served under ZDR, or undefined when it can (perhaps after `applyZdr`). */
export function zdrRefusal(path: string, shape: RequestShape, body: JsonObject | undefined): string | undefined {
  if (RETAINING_PATH.some((re) => re.test(path))) return `This endpoint stores data at the provider, which zero data retention forbids on this gateway.`;
  if (!body) return undefined;
  if (body["store"] === true) return `"store": true asks the provider to keep this conversation, which zero data retention forbids on this gateway. Remove it.`;
  if (shape.endpoint === "responses" && body["background"] === true) return `Background responses are stored by the provider until retrieved, which zero data retention forbids on this gateway.`;
  return undefined;
}

/** Sets `store: false` where the OpenAI API would otherwise store the response (Responses stores by default). */
export function applyZdr(providerId: string, shape: RequestShape, body: JsonObject | undefined): boolean {
  if (providerId !== "openai" || !body) return false;
  if (shape.endpoint !== "chat" && shape.endpoint !== "responses") return false;
  if (body["store"] === false) return false;
  body["store"] = false;
  return true;
}
