import { answerText, endlessPieces, hexId, nowSeconds, randomId, textPieces } from "./content.ts";
import { defaultMessages, openAiErrorCode, openAiMidStreamError, statusByType, typeByStatus } from "./openai-common.ts";
import { dataEvent, runStream, type StreamPlan } from "./responder.ts";
import { stringField, type ErrorReply, type JsonObject, type ProviderApi, type RequestContext } from "./route.ts";
import type { BehaviourError, NeutralUsage } from "./types.ts";
import { resolveUsage } from "./usage.ts";

/**
 * GroqCloud's OpenAI-compatible API under /openai/v1 (https://console.groq.com/docs/api-reference).
 * What differs from OpenAI's wire: `usage` carries Groq's timings (queue_time, prompt_time,
 * completion_time, total_time) beside the token counts, and no token details; every answer
 * has `x_groq: { id }`; a stream's finishing chunk (the one with `finish_reason`) carries the
 * totals in `x_groq.usage`, and also in a top-level `usage` when `stream_options.include_usage`
 * is set — there is no separate usage-only chunk. Errors use OpenAI's error object.
 */
const models = [
  { id: "llama-3.3-70b-versatile", object: "model", created: 1733447754, owned_by: "Meta", active: true, context_window: 131072, public_apps: null, max_completion_tokens: 32768 },
  { id: "llama-3.1-8b-instant", object: "model", created: 1693721698, owned_by: "Meta", active: true, context_window: 131072, public_apps: null, max_completion_tokens: 131072 },
];

function groqUsage(u: NeutralUsage): JsonObject {
  // Groq reports cached prompt tokens inside prompt_tokens and has no cache-write or reasoning split.
  const prompt = u.input + u.cacheRead;
  return { queue_time: 0.019, prompt_tokens: prompt, prompt_time: 0.004, completion_tokens: u.output, completion_time: 0.081, total_tokens: prompt + u.output, total_time: 0.085 };
}

const groqRequestId = (): string => `req_${randomId("", 26).toLowerCase()}`;
const groqHeaders = (): Record<string, string> => ({ "x-request-id": groqRequestId(), "x-ratelimit-limit-requests": "14400", "x-ratelimit-remaining-requests": "14399" });

function reply(status: number, message: string, type: string, code: string | null): ErrorReply {
  const headers = groqHeaders();
  if (status === 429) headers["retry-after"] = "2";
  return { status, body: { error: { message, type, code } }, headers };
}

async function groqChat(ctx: RequestContext): Promise<void> {
  const requested = stringField(ctx.body, "model");
  if (requested === undefined) return ctx.reject("'model' : property 'model' is missing");
  if (!Array.isArray(ctx.body["messages"])) return ctx.reject("'messages' : property 'messages' is missing");
  const { behaviour, responder } = ctx;
  const model = behaviour.model ?? requested;
  const usage = groqUsage(resolveUsage(behaviour.usage));
  const text = answerText(behaviour);
  const id = randomId("chatcmpl-", 29);
  const created = nowSeconds();
  const systemFingerprint = hexId("fp_", 5);
  const xGroqId = groqRequestId();

  if (ctx.body["stream"] !== true) {
    await responder.json(
      200,
      {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message: { role: "assistant", content: text }, logprobs: null, finish_reason: "stop" }],
        usage,
        usage_breakdown: null,
        system_fingerprint: systemFingerprint,
        x_groq: { id: xGroqId },
        service_tier: "on_demand",
      },
      groqHeaders(),
    );
    return;
  }

  const options = ctx.body["stream_options"];
  const includeUsage = options !== null && typeof options === "object" && (options as JsonObject)["include_usage"] === true;
  const chunk = (delta: JsonObject, finishReason: string | null, xGroq: JsonObject | undefined, topUsage: JsonObject | undefined): string => {
    const body: JsonObject = { id, object: "chat.completion.chunk", created, model, system_fingerprint: systemFingerprint, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] };
    if (xGroq) body["x_groq"] = xGroq;
    if (topUsage) body["usage"] = topUsage;
    return dataEvent(body);
  };
  const plan: StreamPlan = {
    opening: [chunk({ role: "assistant", content: "" }, null, { id: xGroqId }, undefined)],
    delta: (piece) => [chunk({ content: piece }, null, undefined, undefined)],
    closing: () => [chunk({}, "stop", { id: xGroqId, usage }, includeUsage ? usage : undefined), "data: [DONE]\n\n"],
    errorEvents: (error: BehaviourError) => [dataEvent({ error: { message: error.message, type: error.type, code: openAiErrorCode(error.type) } })],
  };
  await responder.head(200, { "content-type": "text/event-stream", "cache-control": "no-cache", ...groqHeaders() });
  const pieces = behaviour.endless ? endlessPieces() : textPieces(text, behaviour.chunks);
  await runStream(responder, plan, pieces, behaviour, openAiMidStreamError);
}

export const groqApi: ProviderApi = {
  name: "groq",
  routes: [
    { method: "POST", pattern: /^\/openai\/v1\/chat\/completions$/, handle: groqChat },
    { method: "GET", pattern: /^\/openai\/v1\/models$/, handle: (ctx) => ctx.responder.json(200, { object: "list", data: models }, groqHeaders()) },
  ],
  authenticate(headers, _query, key) {
    const match = /^Bearer\s+(.+)$/i.exec(headers["authorization"] ?? "");
    if (match?.[1] !== key) return reply(401, "Invalid API Key", "invalid_request_error", "invalid_api_key");
    return undefined;
  },
  errorReply(status, error) {
    const type = error?.type ?? typeByStatus[status ?? 500] ?? "server_error";
    return reply(status ?? statusByType[type] ?? 500, error?.message ?? defaultMessages[type] ?? "Error", type, openAiErrorCode(type));
  },
  notFound: (_method, _path) => reply(404, "Unknown request URL. Please check the URL for typos, or see the docs at https://console.groq.com/docs/", "invalid_request_error", "unknown_url"),
  invalidRequest: (message) => reply(400, message, "invalid_request_error", null),
};
