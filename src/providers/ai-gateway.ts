import { GatewayError } from "../core/errors.ts";
import type { CloudAccount } from "./types.ts";

/**
 * Cloudflare AI Gateway as a route's upstream: the provider-specific endpoints
 * (developers.cloudflare.com/ai-gateway/usage/providers/) are
 * `https://gateway.ai.cloudflare.com/v1/{account_id}/{gateway_id}/{provider}/…`, where what
 * follows the provider slug is the provider's own path, spelled as each provider page says.
 */
export const AI_GATEWAY_DEFAULT_BASE = "https://gateway.ai.cloudflare.com/v1";

/**
 * How one route's requests continue after `{gateway}/{slug}` on AI Gateway:
 * - `as-sent`: the provider's path as the client sent it (`anthropic/v1/messages`,
 *   `google-ai-studio/v1beta/models/…`, `google-vertex-ai/v1/projects/…`);
 * - `without-version`: the slug stands for the provider's versioned base (`openai` for
 *   `api.openai.com/v1`, `groq` for `api.groq.com/openai/v1`), so a leading `/v1` goes;
 * - `with-v1`: the slug's OpenAI-compatible endpoints live under `/v1` (`workers-ai/v1/chat/completions`),
 *   added when the client left it out.
 */
export type AiGatewayPath = "as-sent" | "without-version" | "with-v1";

export interface AiGatewayRoute {
  /** AI Gateway's provider slug (the path segment after the gateway id). */
  slug: string;
  path: AiGatewayPath;
  /**
   * Segments between the slug and the provider's path, with `{region}` standing for the
   * route's AWS region: Bedrock's `aws-bedrock/bedrock-runtime/{region}/model/…`.
   */
  prefix?: string;
  /**
   * AI Gateway can add the provider credential it stores (BYOK). False where Cloudflare
   * documents only caller-made credentials for the provider (Bedrock's SigV4 signature,
   * made for the original host before the URL is rewritten).
   */
  byok: boolean;
}

/** The route's base on AI Gateway: `{base}/{account}/{gateway}/{slug}[/{prefix}]`; throws when a `{region}` prefix has no region. */
export function aiGatewayBase(route: AiGatewayRoute, base: string, accountId: string, gatewayId: string, account: CloudAccount): string {
  const trimmed = base.endsWith("/") ? base.slice(0, -1) : base;
  let url = `${trimmed}/${encodeURIComponent(accountId)}/${encodeURIComponent(gatewayId)}/${route.slug}`;
  if (route.prefix) {
    const prefix = route.prefix.replace("{region}", () => {
      if (account.region === undefined) throw new GatewayError("not_configured", `AI Gateway's ${route.slug} path names the AWS region: set the provider's region in gatehouse.yaml.`);
      return account.region;
    });
    url += `/${prefix}`;
  }
  return url;
}

const LEADING_VERSION = /^\/v1(?=\/|$)/;

/** The provider path as it continues after the slug (see AiGatewayPath). */
export function aiGatewayPath(route: AiGatewayRoute, path: string): string {
  if (route.path === "without-version") return path.replace(LEADING_VERSION, "") || "/";
  if (route.path === "with-v1" && !LEADING_VERSION.test(path)) return `/v1${path}`;
  return path;
}

/**
 * Request headers that steer AI Gateway itself (developers.cloudflare.com/ai-gateway/glossary/):
 * never taken from a client, on any route, so no caller can spoof its metadata, pick a cache
 * key, skip logging, set a custom cost or present a gateway token.
 */
export const AI_GATEWAY_HEADER_PREFIX = "cf-aig-";

/** Set by Gatehouse on every request via AI Gateway; an org cannot pin them. */
export const AI_GATEWAY_OWN_HEADERS = ["cf-aig-authorization", "cf-aig-metadata"] as const;

/**
 * AI Gateway keeps at most five custom-metadata entries per request and drops the rest
 * (developers.cloudflare.com/ai-gateway/observability/custom-metadata/); values are strings,
 * numbers or booleans. Gatehouse sends one: the caller's anonymous id.
 */
export const AI_GATEWAY_METADATA_MAX_ENTRIES = 5;
