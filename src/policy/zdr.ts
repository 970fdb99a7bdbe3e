import type { OrgConfig } from "../config/index.ts";
import type { JsonObject, RequestShape } from "../providers/index.ts";
import { globToRegExp, matchesAny } from "./glob.ts";

const compiled = new WeakMap<readonly string[], RegExp[]>();
// One empty list for a config without ZDR models: a fresh `[]` per request missed the cache
// and compiled (and stored in the WeakMap) once per request.
const NO_MODELS: readonly string[] = [];

function zdrPatterns(config: OrgConfig): RegExp[] {
  const models = config.policy?.zdr.models ?? NO_MODELS;
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
 * Whether any model of the provider is zero data retention. Provider-side objects name no
 * single model (a batch carries many), so they are refused when any could be ZDR.
 */
export function anyZdr(config: OrgConfig, providerId: string): boolean {
  if (isZdr(config, providerId, undefined)) return true;
  return (config.policy?.zdr.models ?? []).some((pattern) => pattern.startsWith(`${providerId}/`) || pattern.startsWith("*/"));
}

/** Why a request cannot be served under ZDR, or undefined when it can (perhaps after `applyZdr`). */
export function zdrRefusal(shape: RequestShape, body: JsonObject | undefined): string | undefined {
  // Provider-side objects (uploads, batches, stored responses, caches, fine-tunes) are data the provider keeps by design.
  if (shape.object) return `This endpoint stores data at the provider (${shape.object.kind.replace("_", " ")}), which zero data retention forbids on this gateway.`;
  if (!body) return undefined;
  if (body["store"] === true) return `"store": true asks the provider to keep this conversation, which zero data retention forbids on this gateway. Remove it.`;
  if (shape.conversationState === "stored-by-default" && body["background"] === true) return `Background responses are stored by the provider until retrieved, which zero data retention forbids on this gateway.`;
  return undefined;
}

/** Sets `store: false` where the provider would keep the conversation (the endpoint's `conversationState`). */
export function applyZdr(shape: RequestShape, body: JsonObject | undefined): boolean {
  if (!shape.conversationState || !body || body["store"] === false) return false;
  body["store"] = false;
  return true;
}
