import { openAiChat } from "./openai-chat.ts";
import { openAiEmbeddings } from "./openai-embeddings.ts";
import { openAiResponses } from "./openai-responses.ts";
import type { Responder } from "./responder.ts";
import { stringField, type ErrorReply, type JsonObject, type ProviderApi, type RequestContext, type Route } from "./route.ts";
import type { BehaviourError } from "./types.ts";

/**
 * Azure OpenAI (https://learn.microsoft.com/azure/ai-foundry/openai/reference and …/latest for
 * the v1 API) as a resource `https://<resource>.openai.azure.com` answers it, for what Gatehouse
 * serves: the deployments API (`/openai/deployments/<deployment>/chat/completions` and
 * `/embeddings`, a dated `api-version` required) and the v1 API (`/openai/v1/chat/completions`,
 * `/responses`, `/embeddings`, `/models`, the deployment as the body's `model`). The key is the
 * `api-key` header. The bodies are OpenAI's (the OpenAI fake's), with what Azure adds: chat
 * answers carry `prompt_filter_results` and each choice `content_filter_results`; a stream opens
 * with a chunk that has no choices, no model and the prompt's filter results. Errors are
 * Azure's `{"error":{"code","message"}}` (the HTTP status as the code for platform errors:
 * 401 wrong key, 404 no api-version, `DeploymentNotFound`, `BadRequest` "API version not
 * supported"), a content-filter refusal `content_filter` with `innererror`.
 */

/** Deployments of the fake resource: name → the model it runs. */
export const FAKE_AZURE_DEPLOYMENTS: Readonly<Record<string, string>> = { "chat-prod": "gpt-4o-mini", "chat-big": "gpt-4o", reasoner: "gpt-5-mini", embed: "text-embedding-3-small", unlisted: "gpt-4o" };

/** api-versions the deployments API answers (GA and preview inference versions). */
const API_VERSIONS = new Set([
  "2022-12-01",
  "2023-05-15",
  "2024-02-01",
  "2024-06-01",
  "2024-10-21",
  "2024-08-01-preview",
  "2024-09-01-preview",
  "2024-10-01-preview",
  "2024-12-01-preview",
  "2025-01-01-preview",
  "2025-02-01-preview",
  "2025-03-01-preview",
  "2025-04-01-preview",
]);
const V1_API_VERSIONS = new Set(["v1", "preview", "latest"]);

const safe = { filtered: false, severity: "safe" };
const contentFilterResults = (): JsonObject => ({ hate: { ...safe }, self_harm: { ...safe }, sexual: { ...safe }, violence: { ...safe } });
const promptFilterResults = (): JsonObject[] => [{ prompt_index: 0, content_filter_results: { ...contentFilterResults(), jailbreak: { filtered: false, detected: false } } }];

const azureHeaders = (): Record<string, string> => ({
  "apim-request-id": crypto.randomUUID(),
  "x-request-id": crypto.randomUUID(),
  "x-ms-region": "Sweden Central",
  "x-ms-rai-invoked": "true",
  "x-ratelimit-remaining-requests": "999",
  "x-ratelimit-remaining-tokens": "999000",
});

function reply(status: number, code: string, message: string, extra: JsonObject = {}): ErrorReply {
  const headers = azureHeaders();
  if (status === 429) headers["retry-after"] = "1";
  return { status, body: { error: { code, message, ...extra } }, headers };
}

const codeByStatus: Record<number, string> = { 400: "BadRequest", 401: "401", 403: "403", 404: "404", 408: "Timeout", 429: "429", 500: "InternalServerError", 503: "ServiceUnavailable" };

/** Azure's content-filter refusal (HTTP 400): `content_filter`, with which category fired in `innererror`. */
function contentFilterReply(message: string | undefined): ErrorReply {
  return reply(400, "content_filter", message ?? "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.", {
    param: "prompt",
    status: 400,
    innererror: { code: "ResponsibleAIPolicyViolation", content_filter_result: { ...contentFilterResults(), violence: { filtered: true, severity: "medium" } } },
  });
}

/** Chat answers as Azure writes them: filter results added to the JSON body and to every stream chunk, and the prompt's filter chunk first. */
function withAzureChatFields(responder: Responder): void {
  const json = responder.json.bind(responder);
  responder.json = (status, body, headers) => {
    const chat = body as JsonObject;
    const choices = Array.isArray(chat["choices"]) ? (chat["choices"] as JsonObject[]) : [];
    delete chat["service_tier"];
    return json(status, { ...chat, choices: choices.map((c) => ({ ...c, content_filter_results: contentFilterResults() })), prompt_filter_results: promptFilterResults() }, { ...headers, ...azureHeaders() });
  };
  const head = responder.head.bind(responder);
  const write = responder.write.bind(responder);
  responder.head = async (status, headers) => {
    await head(status, { ...headers, ...azureHeaders() });
    if (headers["content-type"]?.startsWith("text/event-stream")) await write(`data: ${JSON.stringify({ choices: [], created: 0, id: "", model: "", object: "", prompt_filter_results: promptFilterResults() })}\n\n`);
  };
  responder.write = (chunk, encoding) => write(typeof chunk === "string" ? azureChunk(chunk) : chunk, encoding);
}

/** One `data: {chunk}` event with Azure's per-choice filter results (the usage chunk has no choices and gets none). */
function azureChunk(event: string): string {
  const match = /^data: (\{.*\})\n\n$/s.exec(event);
  if (!match?.[1]) return event;
  const chunk = JSON.parse(match[1]) as JsonObject;
  if (!Array.isArray(chunk["choices"]) || "error" in chunk) return event;
  delete chunk["service_tier"];
  delete chunk["obfuscation"];
  chunk["choices"] = (chunk["choices"] as JsonObject[]).map((c) => ({ ...c, content_filter_results: c["finish_reason"] ? {} : contentFilterResults() }));
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

type Handler = (ctx: RequestContext) => Promise<void>;

/** The deployment's model goes to the OpenAI handler as the body's model (the answer names the model, as Azure's does). */
function onDeployment(deployments: Readonly<Record<string, string>>, deployment: string | undefined, ctx: RequestContext, handle: Handler, chat: boolean): Promise<void> {
  const model = deployment !== undefined && Object.hasOwn(deployments, deployment) ? deployments[deployment] : undefined;
  if (model === undefined) {
    return ctx.responder.json(404, reply(404, "DeploymentNotFound", "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.").body, azureHeaders());
  }
  if (chat) withAzureChatFields(ctx.responder);
  return handle({ ...ctx, body: { ...ctx.body, model } });
}

function checkVersion(ctx: RequestContext, versions: ReadonlySet<string>, required: boolean): ErrorReply | undefined {
  const version = ctx.query.get("api-version");
  if (version === null) return required ? reply(404, "404", "Resource not found") : undefined;
  return versions.has(version) ? undefined : reply(400, "BadRequest", "API version not supported");
}

function deploymentRoute(deployments: Readonly<Record<string, string>>, suffix: string, handle: Handler, chat: boolean): Route {
  return {
    method: "POST",
    pattern: new RegExp(`^/openai/deployments/([^/]+)/${suffix}$`),
    async handle(ctx) {
      const denied = checkVersion(ctx, API_VERSIONS, true);
      if (denied) return ctx.responder.json(denied.status, denied.body, denied.headers);
      return onDeployment(deployments, ctx.params[0], ctx, handle, chat);
    },
  };
}

function v1Route(deployments: Readonly<Record<string, string>>, path: string, handle: Handler, chat: boolean): Route {
  return {
    method: "POST",
    pattern: new RegExp(`^/openai/v1/${path}$`),
    async handle(ctx) {
      const denied = checkVersion(ctx, V1_API_VERSIONS, false);
      if (denied) return ctx.responder.json(denied.status, denied.body, denied.headers);
      const deployment = stringField(ctx.body, "model");
      if (deployment === undefined) return ctx.reject("Missing required parameter: 'model'.");
      return onDeployment(deployments, deployment, ctx, handle, chat);
    },
  };
}

/** The models the resource can deploy (GET /openai/v1/models lists models, not deployments). */
const models = Object.values(FAKE_AZURE_DEPLOYMENTS).map((id) => ({
  id,
  object: "model",
  created: 1721172741,
  owned_by: "system",
  capabilities: { chat_completion: !id.includes("embedding"), embeddings: id.includes("embedding") },
  lifecycle_status: "generally-available",
  status: "succeeded",
}));

export function createAzureApi(deployments: Readonly<Record<string, string>> = FAKE_AZURE_DEPLOYMENTS): ProviderApi {
  return {
    name: "azure",
    routes: [
      deploymentRoute(deployments, "chat/completions", openAiChat, true),
      deploymentRoute(deployments, "embeddings", openAiEmbeddings, false),
      v1Route(deployments, "chat/completions", openAiChat, true),
      v1Route(deployments, "responses", openAiResponses, false),
      v1Route(deployments, "embeddings", openAiEmbeddings, false),
      { method: "GET", pattern: /^\/openai\/v1\/models$/, handle: (ctx) => ctx.responder.json(200, { object: "list", data: models }, azureHeaders()) },
    ],
    authenticate(headers, _query, key) {
      // Azure takes the key in api-key (a bearer token would be an Entra ID token, which this resource does not accept).
      if (headers["api-key"] !== key) {
        return reply(401, "401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.");
      }
      return undefined;
    },
    errorReply(status, error: BehaviourError | undefined) {
      if (error?.type === "content_filter") return contentFilterReply(error.message);
      const finalStatus = status ?? 500;
      return reply(
        finalStatus,
        codeByStatus[finalStatus] ?? String(finalStatus),
        error?.message ??
          (finalStatus === 429
            ? "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second."
            : "The server had an error while processing your request."),
      );
    },
    notFound: () => reply(404, "404", "Resource not found"),
    invalidRequest: (message) => reply(400, "BadRequest", message),
  };
}
