import { GatewayError } from "../core/errors.ts";
import { anthropicStreamErrorEvent } from "./anthropic.ts";
import { googleErrorBody, googleStreamErrorEvent } from "./google.ts";
import type { CloudAccount, CloudUpstream, EndpointSpec, ProviderDescriptor } from "./types.ts";

/** A Google Cloud project id (6-30 of a-z, 0-9, "-", starting with a letter) and a location (`us-east5`, `europe-west1`, `global`). */
export const GCP_PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
export const GCP_LOCATION = /^([a-z]+-[a-z]+\d+|global)$/;

const anthropicModels = "/projects/{any}/locations/{any}/publishers/anthropic/models";
const googleModels = "/projects/{any}/locations/{any}/publishers/google/models";

/**
 * Vertex AI's model endpoints (https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude
 * and …/model-reference/inference): Claude under `publishers/anthropic` (Anthropic's Messages
 * body with `anthropic_version: vertex-2023-10-16`, the model in the path) and Gemini under
 * `publishers/google` (generateContent). `count-tokens:rawPredict` is Claude's token count,
 * declared before the model pattern it would otherwise match.
 */
const endpoints: EndpointSpec[] = [
  { name: "count_tokens", method: "POST", path: `${anthropicModels}/count-tokens:rawPredict`, body: "json", format: "none", model: "none", streaming: "never", metered: false, query: {} },
  { name: "messages", method: "POST", path: `${anthropicModels}/{model}:rawPredict`, body: "json", format: "anthropic-messages", model: "path", streaming: "body", metered: true, query: {} },
  { name: "messages_stream", method: "POST", path: `${anthropicModels}/{model}:streamRawPredict`, body: "json", format: "anthropic-messages", model: "path", streaming: "always", metered: true, query: {} },
  { name: "generate", method: "POST", path: `${googleModels}/{model}:generateContent`, body: "json", format: "gemini", model: "path", streaming: "never", metered: true, query: { alt: ["json"] } },
  { name: "stream_generate", method: "POST", path: `${googleModels}/{model}:streamGenerateContent`, body: "json", format: "gemini", model: "path", streaming: "alt-sse", metered: true, query: { alt: ["sse", "json"] } },
  { name: "count_tokens", method: "POST", path: `${googleModels}/{model}:countTokens`, body: "json", format: "none", model: "path", streaming: "never", metered: false, query: {} },
];

const ACCOUNT_SEGMENTS = /^\/(v1|v1beta1)\/projects\/[^/]+\/locations\/[^/]+\//;

/**
 * The org's project and location replace whatever the client put in the path: a caller can
 * neither bill another project the service account reaches nor pick another region.
 */
function vertexUpstream(account: CloudAccount): CloudUpstream {
  const { project } = account;
  const location = account.location ?? "global";
  if (project === undefined) throw new GatewayError("not_configured", "Provider vertex has no Google Cloud project: set providers.vertex.project (and location, default global) in gatehouse.yaml.");
  return {
    defaultBase: location === "global" ? "https://aiplatform.googleapis.com" : `https://${location}-aiplatform.googleapis.com`,
    forwardPath(path) {
      const match = ACCOUNT_SEGMENTS.exec(path);
      if (!match) throw new GatewayError("not_found", "Vertex AI paths start with /v1/projects/<project>/locations/<location>/.");
      return `/${match[1] ?? "v1"}/projects/${project}/locations/${location}/${path.slice(match[0].length)}`;
    },
  };
}

/**
 * Google Vertex AI: Claude and Gemini under the org's Google Cloud project. The gateway
 * authenticates with an OAuth access token it mints from a service-account key (JWT bearer
 * grant, scope cloud-platform) and caches until shortly before it expires. Claude Code:
 * CLAUDE_CODE_USE_VERTEX=1, ANTHROPIC_VERTEX_BASE_URL=<gateway>/vertex/v1,
 * CLAUDE_CODE_SKIP_VERTEX_AUTH=1 (docs/providers/vertex.md).
 */
export const vertex: ProviderDescriptor = {
  id: "vertex",
  displayName: "Google Vertex AI",
  routePrefix: "/vertex",
  clientBasePath: "/vertex/v1",
  opencodeId: "google-vertex",
  // OpenCode's google-vertex provider (@ai-sdk/google-vertex) calls `<baseURL>/models/<m>:streamGenerateContent`;
  // with an apiKey it sends no Google credentials of its own (the gateway replaces project and location).
  opencode: {
    apiKeyPlaceholder: "gatehouse",
    basePath: "/vertex/v1/projects/gatehouse/locations/global/publishers/google",
    options: { project: "gatehouse", location: "global" },
    servesModel: (id) => id.startsWith("gemini-"),
  },
  upstreamExample: "https://us-east5-aiplatform.googleapis.com",
  modelClass: "frontier",
  genAiProviderName: "gcp.vertex_ai",
  defaultUpstream: undefined,
  defaultApiKeyEnv: "GOOGLE_SERVICE_ACCOUNT_KEY",
  // models.dev lists Claude (`claude-sonnet-4-5@20250929`) and Gemini on Vertex under one id.
  defaultCatalogProvider: "google-vertex",
  keyPlacement: "authorization-bearer",
  keyOptional: true,
  upstreamAuth: "google-service-account",
  apiPrefix: { segments: ["v1", "v1beta1"], optional: false },
  ownsObjects: false,
  endpoints,
  // `key` and `access_token` carry credentials in the query on Google's APIs.
  credentialQueryParams: ["key", "access_token"],
  aiGateway: { slug: "google-vertex-ai", path: "as-sent", byok: false },
  strippedRequestHeaders: ["x-goog-user-project", "x-goog-fieldmask"],
  cloudUpstream: vertexUpstream,
  // Claude's rawPredict/streamRawPredict take Anthropic's Messages body (model in the path, anthropic_version in the body).
  wireFamily: { family: "anthropic-messages", role: "target", endpoints: ["messages", "messages_stream"], servesModel: (model) => model.startsWith("claude-") },
  errorBody: googleErrorBody,
  streamErrorEvent(message, format) {
    return format === "anthropic-messages" ? anthropicStreamErrorEvent(message) : googleStreamErrorEvent(message);
  },
};
