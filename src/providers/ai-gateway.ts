import { GatewayError } from "../core/errors.ts";
import { DEPLOYMENT_NAME } from "./deployments.ts";
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
 *   added when the client left it out;
 * - `azure-resource-deployment`: Azure OpenAI's deployments API only. Cloudflare's Azure page
 *   (developers.cloudflare.com/ai-gateway/providers/azureopenai/) puts the resource and the
 *   deployment after the slug (`azure-openai/{resource}/{deployment}/chat/completions?api-version=…`),
 *   so `/openai/deployments/{d}/{rest}` continues as `/{resource}/{d}/{rest}`. It documents no
 *   v1 API (`/openai/v1/…`, a deployment in the body) there: that is refused.
 */
export type AiGatewayPath = "as-sent" | "without-version" | "with-v1" | "azure-resource-deployment";

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
  /**
   * False when AI Gateway does not serve the API the descriptor's coding-client base path
   * (`clientBasePath`) speaks: Azure's v1 API, which OpenCode's Azure SDK calls, is not on
   * Cloudflare's Azure page. Discovery then leaves the provider out rather than serve a
   * config whose every request is refused.
   */
  servesClientApi?: false;
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

/**
 * The provider path as it continues after the slug (see AiGatewayPath); `path` is the
 * canonical, re-encoded path after the route prefix. Throws a GatewayError for a path the
 * slug cannot take (Azure's v1 API) or would read as another one (a deployment segment that
 * is no deployment name).
 */
export function aiGatewayPath(route: AiGatewayRoute, path: string, account?: CloudAccount): string {
  if (route.path === "without-version") return path.replace(LEADING_VERSION, "") || "/";
  if (route.path === "with-v1" && !LEADING_VERSION.test(path)) return `/v1${path}`;
  if (route.path === "azure-resource-deployment") return azureResourceDeploymentPath(path, account);
  return path;
}

const AZURE_DEPLOYMENT_PATH = /^\/openai\/deployments\/([^/]+)((?:\/[^/]+)+)$/;
/** A segment after the deployment: plain URL characters, no dot segment, no escaped slash or backslash. */
const PLAIN_SEGMENT = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;

/**
 * `/openai/deployments/{d}/{rest}` → `/{resource}/{d}/{rest}`. AI Gateway reads the resource
 * and the deployment from fixed segments, so each must be exactly one: a deployment spelled
 * with `%2F`, `%2E%2E` or anything Azure would not name a deployment is refused, never sent,
 * since the gateway (or Azure behind it) might decode it into another resource's path.
 */
function azureResourceDeploymentPath(path: string, account: CloudAccount | undefined): string {
  const match = AZURE_DEPLOYMENT_PATH.exec(path);
  if (!match) {
    throw new GatewayError(
      "bad_request",
      "This gateway reaches Azure OpenAI through Cloudflare AI Gateway, which serves only Azure's deployments API (azure-openai/{resource}/{deployment}/…), not the v1 API. Call the deployments API instead: POST /azure-openai/openai/deployments/<deployment>/chat/completions?api-version=2024-10-21 (or …/embeddings), the deployment in the path.",
    );
  }
  const deployment = match[1] as string;
  const rest = match[2] as string;
  if (
    !DEPLOYMENT_NAME.test(deployment) ||
    !rest
      .split("/")
      .slice(1)
      .every((segment) => PLAIN_SEGMENT.test(segment))
  ) {
    throw new GatewayError("bad_request", "The deployment must be one path segment of letters, digits, '.', '_' and '-' (an Azure deployment name), followed by the endpoint, e.g. /openai/deployments/my-deployment/chat/completions.");
  }
  // The config requires the resource for a route via AI Gateway; a descriptor path without it must still never forward.
  if (account?.resource === undefined) throw new GatewayError("not_configured", "Azure OpenAI via Cloudflare AI Gateway names the Azure resource in the path: set providers.azure-openai.resource in gatehouse.yaml.");
  return `/${encodeURIComponent(account.resource)}/${deployment}${rest}`;
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
