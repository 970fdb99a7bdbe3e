import { GatewayError } from "../core/errors.ts";
import type { CloudAccount, CloudUpstream, EndpointSpec, ProviderDescriptor } from "./types.ts";

/**
 * Bedrock's exception names (the `x-amzn-ErrorType` header and the body's `message`), which
 * the AWS SDKs turn into their typed errors. https://docs.aws.amazon.com/bedrock/latest/APIReference/CommonErrors.html
 */
const bedrockErrorType: Record<string, string> = {
  unauthenticated: "UnrecognizedClientException",
  forbidden: "AccessDeniedException",
  not_found: "ResourceNotFoundException",
  method_not_allowed: "UnknownOperationException",
  bad_request: "ValidationException",
  unsupported_media_type: "ValidationException",
  payload_too_large: "ValidationException",
  request_timeout: "ModelTimeoutException",
  rate_limited: "ThrottlingException",
  budget_exceeded: "ThrottlingException",
  upstream_unavailable: "ServiceUnavailableException",
  upstream_timeout: "ModelTimeoutException",
  not_configured: "ServiceUnavailableException",
  store_unavailable: "ServiceUnavailableException",
  internal: "InternalServerException",
};

/** An AWS region name (`us-east-1`, `eu-central-2`, `us-gov-west-1`): the endpoint's host is built from it. */
export const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/**
 * The Bedrock runtime API's model operations (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_Operations_Amazon_Bedrock_Runtime.html).
 * The model id is the path's one segment, ":" included (`anthropic.claude-sonnet-4-5-20250929-v1:0`,
 * `us.anthropic.…` inference profiles); an ARN (which encodes "/") is refused by the canonical
 * path. Nothing in the query.
 */
const op = (name: string, suffix: string, format: "bedrock-invoke" | "bedrock-converse", streaming: "never" | "always"): EndpointSpec => ({
  name,
  method: "POST",
  path: `/model/{modelId}/${suffix}`,
  body: "json",
  format,
  model: "path",
  streaming,
  metered: true,
  query: {},
});

const endpoints: EndpointSpec[] = [
  op("invoke", "invoke", "bedrock-invoke", "never"),
  op("invoke_stream", "invoke-with-response-stream", "bedrock-invoke", "always"),
  op("converse", "converse", "bedrock-converse", "never"),
  op("converse_stream", "converse-stream", "bedrock-converse", "always"),
  // CountTokens is free and generates nothing: served, not metered.
  { ...op("count_tokens", "count-tokens", "bedrock-converse", "never"), format: "none", metered: false },
];

/** Cross-region inference profile prefixes (`us.anthropic.…`, `global.anthropic.…`): the same model, priced as the model when the catalog has no entry for the profile. */
const INFERENCE_PROFILE_PREFIX = /^(us|eu|apac|au|jp|ca|us-gov|global)\./;

function bedrockUpstream(account: CloudAccount): CloudUpstream {
  const region = account.region;
  if (region === undefined) throw new GatewayError("not_configured", "Provider bedrock has no AWS region: set providers.bedrock.region (e.g. us-east-1) in gatehouse.yaml.");
  return { defaultBase: `https://bedrock-runtime.${region}.amazonaws.com`, forwardPath: (path) => path };
}

/**
 * Amazon Bedrock's runtime API: Claude (and every other Bedrock model) under the org's AWS
 * account. The gateway signs each request with SigV4 (service `bedrock`, the configured
 * region) with credentials from the standard AWS sources; clients send only their gateway
 * token. Claude Code: CLAUDE_CODE_USE_BEDROCK=1, ANTHROPIC_BEDROCK_BASE_URL=<gateway>/bedrock,
 * CLAUDE_CODE_SKIP_BEDROCK_AUTH=1 (docs/providers/bedrock.md).
 */
export const bedrock: ProviderDescriptor = {
  id: "bedrock",
  displayName: "Amazon Bedrock",
  routePrefix: "/bedrock",
  clientBasePath: "/bedrock",
  opencodeId: "amazon-bedrock",
  // OpenCode's amazon-bedrock provider (@ai-sdk/amazon-bedrock) speaks Converse; a non-empty
  // apiKey makes it send a bearer header instead of signing with AWS credentials the developer
  // does not have. The gateway token itself travels in cf-access-token, as for every provider.
  opencode: { apiKeyPlaceholder: "gatehouse" },
  upstreamExample: "https://bedrock-runtime.us-east-1.amazonaws.com",
  modelClass: "frontier",
  genAiProviderName: "aws.bedrock",
  defaultUpstream: undefined,
  defaultApiKeyEnv: "AWS_ACCESS_KEY_ID",
  defaultCatalogProvider: "amazon-bedrock",
  keyPlacement: "authorization-bearer",
  keyOptional: true,
  upstreamAuth: "aws-sigv4",
  apiPrefix: undefined,
  ownsObjects: false,
  endpoints,
  credentialQueryParams: [],
  // A client's own AWS signature parts, and the headers that change what a call costs
  // (latency-optimised inference, service tier, guardrails, traces): never from a client.
  aiGateway: { slug: "aws-bedrock", path: "as-sent", prefix: "bedrock-runtime/{region}", byok: false },
  strippedRequestHeaders: [
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "x-amzn-bedrock-performanceconfig-latency",
    "x-amzn-bedrock-service-tier",
    "x-amzn-bedrock-guardrailidentifier",
    "x-amzn-bedrock-guardrailversion",
    "x-amzn-bedrock-trace",
  ],
  cloudUpstream: bedrockUpstream,
  // InvokeModel takes Anthropic's Messages body for Claude models only (an inference profile's prefix allowed).
  wireFamily: { family: "anthropic-messages", role: "target", endpoints: ["invoke", "invoke_stream"], servesModel: (model) => /^([a-z-]+\.)?anthropic\.claude-/.test(model) },
  catalogModelFallbacks(model) {
    const bare = model.replace(INFERENCE_PROFILE_PREFIX, "");
    return bare === model ? [] : [bare];
  },
  errorBody(error: GatewayError) {
    return { message: error.message };
  },
  errorHeaders(error: GatewayError) {
    return { "x-amzn-errortype": bedrockErrorType[error.code] ?? "InternalServerException" };
  },
  streamErrorEvent() {
    return undefined;
  },
};
