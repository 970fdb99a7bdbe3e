import { answerText, endlessPieces, randomId, textPieces } from "./content.ts";
import { namedEvent, overloaded, runStream, type StreamPlan } from "./responder.ts";
import { stringField, type ErrorReply, type ProviderApi, type RequestContext } from "./route.ts";
import { anthropicObjectRoutes } from "./objects.ts";
import { anthropicTools, toolCallFor } from "./tool-calls.ts";
import type { BehaviourError } from "./types.ts";
import { anthropicDeltaUsage, anthropicStartUsage, anthropicUsage, resolveUsage } from "./usage.ts";

// https://docs.anthropic.com/en/api/errors: HTTP status <-> error.type.
const typeByStatus: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};
const statusByType = Object.fromEntries(Object.entries(typeByStatus).map(([status, type]) => [type, Number(status)]));
const defaultMessages: Record<string, string> = {
  invalid_request_error: "Invalid request",
  authentication_error: "invalid x-api-key",
  billing_error: "Your credit balance is too low to access the Anthropic API.",
  permission_error: "Your API key does not have permission to use the specified resource.",
  not_found_error: "Not found",
  request_too_large: "Request exceeds the maximum allowed number of bytes.",
  rate_limit_error: "Number of request tokens has exceeded your per-minute rate limit.",
  api_error: "Internal server error",
  timeout_error: "Request timed out",
  overloaded_error: "Overloaded",
};

function reply(status: number, type: string, message: string): ErrorReply {
  const requestId = randomId("req_011C");
  const headers: Record<string, string> = { "request-id": requestId };
  if (status === 429 || status === 529) headers["retry-after"] = "1";
  return { status, body: { type: "error", error: { type, message }, request_id: requestId }, headers };
}

const models = [
  { type: "model", id: "claude-sonnet-4-5-20250929", display_name: "Claude Sonnet 4.5", created_at: "2025-09-29T00:00:00Z" },
  { type: "model", id: "claude-haiku-4-5-20251001", display_name: "Claude Haiku 4.5", created_at: "2025-10-15T00:00:00Z" },
  { type: "model", id: "claude-opus-4-1-20250805", display_name: "Claude Opus 4.1", created_at: "2025-08-05T00:00:00Z" },
];

/** Rough token estimate for count_tokens: the fake does not tokenize, it only needs a stable positive number. */
const estimateTokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4));

function requireMessagesFields(ctx: RequestContext, fields: string[]): string | undefined {
  if (ctx.headers["anthropic-version"] === undefined) return "anthropic-version: header is required";
  for (const field of fields) if (ctx.body[field] === undefined) return `${field}: Field required`;
  if (!Array.isArray(ctx.body["messages"])) return "messages: Input should be a valid list";
  return undefined;
}

async function messages(ctx: RequestContext): Promise<void> {
  const problem = requireMessagesFields(ctx, ["model", "max_tokens", "messages"]);
  if (problem) return ctx.reject(problem);
  await answerMessages(ctx, stringField(ctx.body, "model") ?? "", ctx.body["stream"] === true);
}

/** Anthropic's Messages answer (a body, or the SSE events when `stream`): also what Claude on Vertex AI answers. */
export async function answerMessages(ctx: RequestContext, requestedModel: string, stream: boolean): Promise<void> {
  const { behaviour, responder } = ctx;
  const model = behaviour.model ?? requestedModel;
  const usage = resolveUsage(behaviour.usage);
  const text = answerText(behaviour);
  const id = randomId("msg_01");
  const requestId = randomId("req_011C");
  const call = toolCallFor(behaviour, ctx.body, anthropicTools);
  const toolUse = call ? { type: "tool_use", id: randomId("toolu_01"), name: call.name, input: call.arguments } : undefined;
  const stopReason = toolUse ? "tool_use" : "end_turn";

  if (!stream) {
    await responder.json(
      200,
      {
        model,
        id,
        type: "message",
        role: "assistant",
        content: [toolUse ?? { type: "text", text }],
        stop_reason: stopReason,
        stop_sequence: null,
        usage: anthropicUsage(usage),
      },
      { "request-id": requestId },
    );
    return;
  }

  // https://docs.anthropic.com/en/docs/build-with-claude/streaming: event flow and field sets.
  const plan: StreamPlan = {
    opening: [
      namedEvent("message_start", {
        type: "message_start",
        message: { model, id, type: "message", role: "assistant", content: [], stop_reason: null, stop_sequence: null, usage: anthropicStartUsage(usage) },
      }),
      namedEvent("content_block_start", { type: "content_block_start", index: 0, content_block: toolUse ? { ...toolUse, input: {} } : { type: "text", text: "" } }),
      namedEvent("ping", { type: "ping" }),
    ],
    // A tool call streams its input as partial JSON (input_json_delta), text as text_delta.
    delta: (piece) => [namedEvent("content_block_delta", { type: "content_block_delta", index: 0, delta: toolUse ? { type: "input_json_delta", partial_json: piece } : { type: "text_delta", text: piece } })],
    closing: () => [
      namedEvent("content_block_stop", { type: "content_block_stop", index: 0 }),
      namedEvent("message_delta", { type: "message_delta", delta: { stop_reason: stopReason, stop_sequence: null }, usage: anthropicDeltaUsage(usage) }),
      namedEvent("message_stop", { type: "message_stop" }),
    ],
    errorEvents: (error: BehaviourError) => [namedEvent("error", { type: "error", error: { type: error.type, message: error.message } })],
  };
  await responder.head(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "request-id": requestId });
  const pieces = behaviour.endless ? endlessPieces() : textPieces(toolUse ? JSON.stringify(toolUse.input) : text, behaviour.chunks);
  await runStream(responder, plan, pieces, behaviour, overloaded);
}

async function countTokens(ctx: RequestContext): Promise<void> {
  const problem = requireMessagesFields(ctx, ["model", "messages"]);
  if (problem) return ctx.reject(problem);
  const tokens = ctx.behaviour.usage?.input ?? estimateTokens(JSON.stringify(ctx.body["messages"]) + JSON.stringify(ctx.body["system"] ?? ""));
  await ctx.responder.json(200, { input_tokens: tokens }, { "request-id": randomId("req_011C") });
}

async function listModels(ctx: RequestContext): Promise<void> {
  await ctx.responder.json(200, { data: models, has_more: false, first_id: models[0]?.id ?? null, last_id: models.at(-1)?.id ?? null }, { "request-id": randomId("req_011C") });
}

export const anthropicApi: ProviderApi = {
  name: "anthropic",
  routes: [{ method: "POST", pattern: /^\/v1\/messages$/, handle: messages }, { method: "POST", pattern: /^\/v1\/messages\/count_tokens$/, handle: countTokens }, { method: "GET", pattern: /^\/v1\/models$/, handle: listModels }, ...anthropicObjectRoutes],
  claims: (headers) => headers["x-api-key"] !== undefined || headers["anthropic-version"] !== undefined,
  authenticate(headers, _query, key) {
    const given = headers["x-api-key"];
    if (given === undefined) return reply(401, "authentication_error", "x-api-key header is required");
    if (given !== key) return reply(401, "authentication_error", "invalid x-api-key");
    return undefined;
  },
  errorReply(status, error) {
    const type = error?.type ?? typeByStatus[status ?? 500] ?? "api_error";
    const finalStatus = status ?? statusByType[type] ?? 500;
    return reply(finalStatus, type, error?.message ?? defaultMessages[type] ?? "Error");
  },
  notFound: (_method, path) => reply(404, "not_found_error", `Not found: ${path}`),
  invalidRequest: (message) => reply(400, "invalid_request_error", message),
};
