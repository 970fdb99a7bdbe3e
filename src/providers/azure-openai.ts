import type { GatewayError } from "../core/errors.ts";
import { UndeclaredDeployment } from "./deployments.ts";
import { unmeteredEndpoint } from "./endpoints.ts";
import { OPENAI_BILLING_HEADERS, openAiStreamErrorEvent } from "./openai.ts";
import type { CloudAccount, EndpointSpec, JsonObject, ObjectAction, ObjectKind, ProviderDescriptor, QueryPattern } from "./types.ts";

/** An Azure resource name: the DNS label `<resource>` of `https://<resource>.openai.azure.com`. */
export const AZURE_RESOURCE = /^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$/;

/**
 * The dated API versions of Azure OpenAI's deployments API (`2024-10-21`, `2025-04-01-preview`;
 * https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle). Any date-shaped
 * version is forwarded (Azure adds one most months and answers an unknown one itself);
 * anything else is refused here.
 */
const DATED_API_VERSION: QueryPattern = { pattern: /^20\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(-preview)?$/, example: "2024-10-21" };

/** The v1 API needs no version; clients written for its preview still send one of these. */
const V1_API_VERSIONS = ["v1", "preview", "latest"] as const;

const deploymentQuery = { query: { "api-version": DATED_API_VERSION }, requiredQuery: ["api-version"] } as const;
const v1Query = { query: { "api-version": V1_API_VERSIONS } } as const;

/**
 * The endpoints under `/openai` (the apiPrefix): the deployments API, the deployment in the
 * path and a dated `api-version` required (https://learn.microsoft.com/azure/ai-foundry/openai/reference),
 * and the v1 API, OpenAI's own wire with the deployment as the body's `model`
 * (https://learn.microsoft.com/azure/ai-foundry/openai/latest). Azure serves the Responses
 * API on v1 only (`/openai/v1/responses`), not under a deployment. Azure keeps chat
 * completions when asked (`store: true`, stored completions) and responses by default.
 */
// v1 first: callers that build a body from the first chat endpoint (the reviewer) get the v1 path, the model in the body.
const endpoints: EndpointSpec[] = [
  { name: "chat", method: "POST", path: "/v1/chat/completions", body: "json", format: "openai-chat", model: "body", streaming: "body", metered: true, ...v1Query, endUser: "safety_identifier", conversationState: "stored-on-request" },
  { name: "responses", method: "POST", path: "/v1/responses", body: "json", format: "openai-responses", model: "body", streaming: "body", metered: true, ...v1Query, endUser: "safety_identifier", conversationState: "stored-by-default" },
  { name: "embeddings", method: "POST", path: "/v1/embeddings", body: "json", format: "openai-embeddings", model: "body", streaming: "never", metered: true, ...v1Query },
  unmeteredEndpoint("models.list", "GET", "/v1/models", v1Query),
  unmeteredEndpoint("models.read", "GET", "/v1/models/{id}", v1Query),
  { name: "chat", method: "POST", path: "/deployments/{model}/chat/completions", body: "json", format: "openai-chat", model: "path", streaming: "body", metered: true, ...deploymentQuery, endUser: "user", conversationState: "stored-on-request" },
  { name: "embeddings", method: "POST", path: "/deployments/{model}/embeddings", body: "json", format: "openai-embeddings", model: "path", streaming: "never", metered: true, ...deploymentQuery },
  // Stored state under the org's key, readable by every caller: declared so the refusal says why, never served.
  ...(
    [
      ["responses.read", "GET", "/v1/responses/{id}", "stored_responses", "read"],
      ["responses.delete", "DELETE", "/v1/responses/{id}", "stored_responses", "delete"],
      ["responses.input_items", "GET", "/v1/responses/{id}/input_items", "stored_responses", "read"],
      ["responses.cancel", "POST", "/v1/responses/{id}/cancel", "stored_responses", "update"],
      ["chat.list", "GET", "/v1/chat/completions", "stored_completions", "list"],
      ["chat.read", "GET", "/v1/chat/completions/{id}", "stored_completions", "read"],
      ["chat.delete", "DELETE", "/v1/chat/completions/{id}", "stored_completions", "delete"],
    ] as const
  ).map(([name, method, path, kind, action]: readonly [string, "GET" | "POST" | "DELETE", string, ObjectKind, ObjectAction]) =>
    unmeteredEndpoint(name, method, path, { object: { kind, action }, ...v1Query, ...(method === "POST" ? { body: "none" as const } : {}) }),
  ),
];

/**
 * Azure's error body, `{"error":{"code":…,"message":…}}`: its platform errors carry the HTTP
 * status as the code ("401", "404", "429"), a bad request "BadRequest", an unknown deployment
 * "DeploymentNotFound" (https://learn.microsoft.com/azure/ai-foundry/openai/reference).
 */
export function azureErrorBody(error: GatewayError): JsonObject {
  const code = error instanceof UndeclaredDeployment ? "DeploymentNotFound" : error.code === "bad_request" ? "BadRequest" : String(error.status);
  return { error: { code, message: error.message } };
}

function azureUpstream(account: CloudAccount): string | undefined {
  return account.resource === undefined ? undefined : `https://${account.resource}.openai.azure.com`;
}

/**
 * Azure OpenAI: OpenAI's models under the org's Azure resource. Requests name a deployment
 * (in the path, or as the v1 body's `model`); the org declares the model each deployment
 * serves (`providers.azure-openai.deployments`) and the gateway prices it at models.dev's
 * `azure` prices. The key travels in `api-key`. Clients: the openai SDKs' AzureOpenAI with
 * the endpoint `<gateway>/azure-openai`, or any OpenAI client at `<gateway>/azure-openai/openai/v1`
 * (docs/providers/azure-openai.md).
 */
export const azureOpenai: ProviderDescriptor = {
  id: "azure-openai",
  displayName: "Azure OpenAI",
  routePrefix: "/azure-openai",
  clientBasePath: "/azure-openai/openai/v1",
  opencodeId: "azure",
  // OpenCode's azure provider (@ai-sdk/azure) calls `<baseURL>/responses` for a baseURL that is not
  // an *.openai.azure.com host, sending `api-key: <apiKey>`: the placeholder is stripped, the token rides in cf-access-token.
  opencode: { apiKeyPlaceholder: "gatehouse", zdrModelOptions: { store: false } },
  upstreamExample: "https://my-resource.openai.azure.com",
  modelClass: "frontier",
  genAiProviderName: "azure.ai.openai",
  chatMaxTokensField: "max_completion_tokens",
  defaultUpstream: undefined,
  defaultApiKeyEnv: "AZURE_OPENAI_API_KEY",
  defaultCatalogProvider: "azure",
  keyPlacement: "api-key",
  keyOptional: false,
  apiPrefix: { segments: ["openai"], optional: false },
  modelIsDeployment: true,
  upstreamForAccount: azureUpstream,
  // Cloudflare's Azure page documents the caller's api-key only, no stored key (BYOK), and the deployments API only.
  aiGateway: { slug: "azure-openai", path: "azure-resource-deployment", byok: false, servesClientApi: false },
  ownsObjects: false,
  endpoints,
  credentialQueryParams: [],
  strippedRequestHeaders: OPENAI_BILLING_HEADERS,
  // The v1 API's chat and responses: OpenAI's wire, the deployment serving the routed model as `model`.
  wireFamily: { family: "openai", role: "target", endpoints: ["chat", "responses"] },
  errorBody: (error) => azureErrorBody(error),
  streamErrorEvent: openAiStreamErrorEvent,
};
