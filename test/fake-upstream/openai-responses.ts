import { answerText, endlessPieces, hexId, nowSeconds, textPieces } from "./content.ts";
import { openAiErrorCode, openAiHeaders, openAiMidStreamError } from "./openai-common.ts";
import { namedEvent, runStream, type StreamPlan } from "./responder.ts";
import { stringField, type JsonObject, type RequestContext } from "./route.ts";
import type { BehaviourError } from "./types.ts";
import { openAiResponsesUsage, resolveUsage } from "./usage.ts";

/**
 * The Response object with the field set the live API returns (captured in vercel/ai
 * responses fixtures). Request parameters are NOT echoed: the fake reports defaults.
 */
export function responseObject(id: string, createdAt: number, model: string, status: string, output: unknown[], usage: unknown, error: unknown = null): JsonObject {
  return {
    id,
    object: "response",
    created_at: createdAt,
    status,
    background: false,
    completed_at: status === "completed" ? nowSeconds() : null,
    error,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    max_tool_calls: null,
    model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    prompt_cache_key: null,
    reasoning: { effort: null, summary: null },
    safety_identifier: null,
    service_tier: status === "completed" ? "default" : "auto",
    store: true,
    temperature: 1,
    text: { format: { type: "text" }, verbosity: "medium" },
    tool_choice: "auto",
    tools: [],
    top_logprobs: 0,
    top_p: 1,
    truncation: "disabled",
    usage,
    user: null,
    metadata: {},
  };
}

export const outputText = (text: string): JsonObject => ({ type: "output_text", annotations: [], logprobs: [], text });
export const message = (id: string, status: string, content: unknown[]): JsonObject => ({ id, type: "message", status, content, role: "assistant" });

/** POST /v1/responses, JSON and SSE semantic events, each with a `sequence_number`. */
export async function openAiResponses(ctx: RequestContext): Promise<void> {
  const requested = stringField(ctx.body, "model");
  if (requested === undefined) return ctx.reject("Missing required parameter: 'model'.");
  const { behaviour, responder } = ctx;
  const model = behaviour.model ?? requested;
  const usage = resolveUsage(behaviour.usage);
  const text = answerText(behaviour);
  const id = hexId("resp_", 25);
  const itemId = hexId("msg_", 25);
  const createdAt = nowSeconds();

  if (ctx.body["stream"] !== true) {
    const body = responseObject(id, createdAt, model, "completed", [message(itemId, "completed", [outputText(text)])], openAiResponsesUsage(usage));
    await responder.json(200, body, openAiHeaders());
    return;
  }

  let sequence = 0;
  const event = (type: string, fields: JsonObject): string => namedEvent(type, { type, ...fields, sequence_number: sequence++ });
  let streamed = "";
  const plan: StreamPlan = {
    opening: [
      event("response.created", { response: responseObject(id, createdAt, model, "in_progress", [], null) }),
      event("response.in_progress", { response: responseObject(id, createdAt, model, "in_progress", [], null) }),
      event("response.output_item.added", { output_index: 0, item: message(itemId, "in_progress", []) }),
      event("response.content_part.added", { item_id: itemId, output_index: 0, content_index: 0, part: outputText("") }),
    ],
    delta: (piece) => {
      streamed += piece;
      return [event("response.output_text.delta", { item_id: itemId, output_index: 0, content_index: 0, delta: piece, logprobs: [] })];
    },
    closing: () => [
      event("response.output_text.done", { item_id: itemId, output_index: 0, content_index: 0, text: streamed, logprobs: [] }),
      event("response.content_part.done", { item_id: itemId, output_index: 0, content_index: 0, part: outputText(streamed) }),
      event("response.output_item.done", { output_index: 0, item: message(itemId, "completed", [outputText(streamed)]) }),
      event("response.completed", { response: responseObject(id, createdAt, model, "completed", [message(itemId, "completed", [outputText(streamed)])], openAiResponsesUsage(usage)) }),
    ],
    // As captured from the live API: an `error` event, then `response.failed` without usage.
    errorEvents: (error: BehaviourError, written: number) => {
      const code = openAiErrorCode(error.type) ?? error.type;
      sequence = written;
      return [event("error", { error: { type: error.type, code, message: error.message, param: null } }), event("response.failed", { response: responseObject(id, createdAt, model, "failed", [], null, { code, message: error.message }) })];
    },
  };
  await responder.head(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", ...openAiHeaders() });
  const pieces = behaviour.endless ? endlessPieces() : textPieces(text, behaviour.chunks);
  await runStream(responder, plan, pieces, behaviour, openAiMidStreamError);
}
