import { openAiChat } from "./openai-chat.ts";
import { openAiEmbeddings } from "./openai-embeddings.ts";
import { openAiResponses } from "./openai-responses.ts";
import { defaultMessages, openAiErrorCode, openAiHeaders, openAiReply as reply, statusByType, typeByStatus } from "./openai-common.ts";
import { openAiObjectRoutes } from "./objects.ts";
import type { ProviderApi, RequestContext } from "./route.ts";

/** "sk-proj-abcd…wxyz" the way the API masks a wrong key in its 401 message. */
function maskKey(key: string): string {
  if (key.length <= 8) return "*".repeat(key.length);
  return `${key.slice(0, 4)}${"*".repeat(Math.min(key.length - 8, 20))}${key.slice(-4)}`;
}

const models = [
  { id: "gpt-4.1-mini", object: "model", created: 1744316542, owned_by: "system" },
  { id: "gpt-4o-mini", object: "model", created: 1721172741, owned_by: "system" },
  { id: "gpt-5-mini", object: "model", created: 1754425928, owned_by: "system" },
  { id: "text-embedding-3-small", object: "model", created: 1705948997, owned_by: "system" },
];

async function listModels(ctx: RequestContext): Promise<void> {
  await ctx.responder.json(200, { object: "list", data: models }, openAiHeaders());
}

export const openAiApi: ProviderApi = {
  name: "openai",
  routes: [
    { method: "POST", pattern: /^\/v1\/chat\/completions$/, handle: openAiChat },
    { method: "POST", pattern: /^\/v1\/responses$/, handle: openAiResponses },
    { method: "POST", pattern: /^\/v1\/embeddings$/, handle: openAiEmbeddings },
    { method: "GET", pattern: /^\/v1\/models$/, handle: listModels },
    ...openAiObjectRoutes,
  ],
  authenticate(headers, _query, key) {
    const authorization = headers["authorization"];
    const match = authorization === undefined ? null : /^Bearer\s+(.+)$/i.exec(authorization);
    if (!match?.[1]) {
      return reply(
        401,
        'You didn\'t provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (i.e. Authorization: Basic base64(":" + YOUR_KEY)). You can obtain an API key from https://platform.openai.com/account/api-keys.',
        "invalid_request_error",
        null,
      );
    }
    if (match[1] !== key) {
      return reply(401, `Incorrect API key provided: ${maskKey(match[1])}. You can find your API key at https://platform.openai.com/account/api-keys.`, "invalid_request_error", "invalid_api_key");
    }
    return undefined;
  },
  errorReply(status, error) {
    const type = error?.type ?? typeByStatus[status ?? 500] ?? "server_error";
    const finalStatus = status ?? statusByType[type] ?? 500;
    return reply(finalStatus, error?.message ?? defaultMessages[type] ?? "Error", type, openAiErrorCode(type));
  },
  notFound: (method, path) => reply(404, `Invalid URL (${method} ${path})`, "invalid_request_error", null),
  invalidRequest: (message) => reply(400, message, "invalid_request_error", null),
};
