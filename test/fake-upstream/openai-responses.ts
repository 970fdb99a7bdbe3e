import { answerText, endlessPieces, hexId, nowSeconds, textPieces } from "./content.ts";
import { openAiErrorCode, openAiHeaders, openAiMidStreamError } from "./openai-common.ts";
import { namedEvent, runStream, type StreamPlan } from "./responder.ts";
import { stringField, type JsonObject, type RequestContext } from "./route.ts";
import { openAiResponsesTools, toolCallFor } from "./tool-calls.ts";
import type { BehaviourError, ToolCallBehaviour } from "./types.ts";
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
export const functionCall = (id: string, callId: string, status: string, name: string, args: string): JsonObject => ({ id, type: "function_call", status, arguments: args, call_id: callId, name });

/**
 * The one output item of an answer, as the stream builds it: a message with one output_text
 * part, or a function call whose arguments stream as `response.function_call_arguments.delta`.
 * Shared by the SSE stream and the WebSocket mode (the same semantic events).
 */
export interface OutputItemEvents {
  /** Events after `response.output_item.added` and before the first delta. */
  added(): Array<[string, JsonObject]>;
  delta(piece: string): Array<[string, JsonObject]>;
  /** Events up to and including `response.output_item.done`. */
  done(): Array<[string, JsonObject]>;
  item(status: string): JsonObject;
  /** What the deltas spell: the text, or the arguments JSON. */
  readonly streamedSource: string;
}

export function outputItemEvents(call: ToolCallBehaviour | undefined, text: string): OutputItemEvents {
  let streamed = "";
  if (call) {
    const itemId = hexId("fc_", 25);
    const callId = `call_${hexId("", 12)}`;
    const item = (status: string) => functionCall(itemId, callId, status, call.name, status === "completed" ? streamed : "");
    return {
      streamedSource: JSON.stringify(call.arguments),
      item,
      added: () => [["response.output_item.added", { output_index: 0, item: item("in_progress") }]],
      delta: (piece) => {
        streamed += piece;
        return [["response.function_call_arguments.delta", { item_id: itemId, output_index: 0, delta: piece }]];
      },
      done: () => [
        ["response.function_call_arguments.done", { item_id: itemId, output_index: 0, arguments: streamed }],
        ["response.output_item.done", { output_index: 0, item: item("completed") }],
      ],
    };
  }
  const itemId = hexId("msg_", 25);
  const item = (status: string) => message(itemId, status, status === "completed" ? [outputText(streamed)] : []);
  return {
    streamedSource: text,
    item,
    added: () => [
      ["response.output_item.added", { output_index: 0, item: item("in_progress") }],
      ["response.content_part.added", { item_id: itemId, output_index: 0, content_index: 0, part: outputText("") }],
    ],
    delta: (piece) => {
      streamed += piece;
      return [["response.output_text.delta", { item_id: itemId, output_index: 0, content_index: 0, delta: piece, logprobs: [] }]];
    },
    done: () => [
      ["response.output_text.done", { item_id: itemId, output_index: 0, content_index: 0, text: streamed, logprobs: [] }],
      ["response.content_part.done", { item_id: itemId, output_index: 0, content_index: 0, part: outputText(streamed) }],
      ["response.output_item.done", { output_index: 0, item: item("completed") }],
    ],
  };
}

/** POST /v1/responses, JSON and SSE semantic events, each with a `sequence_number`. */
export async function openAiResponses(ctx: RequestContext): Promise<void> {
  const requested = stringField(ctx.body, "model");
  if (requested === undefined) return ctx.reject("Missing required parameter: 'model'.");
  const { behaviour, responder } = ctx;
  const model = behaviour.model ?? requested;
  const usage = resolveUsage(behaviour.usage);
  const text = answerText(behaviour);
  const id = hexId("resp_", 25);
  const createdAt = nowSeconds();
  const call = toolCallFor(behaviour, ctx.body, openAiResponsesTools);
  const output = outputItemEvents(call, text);

  if (ctx.body["stream"] !== true) {
    output.delta(output.streamedSource);
    const body = responseObject(id, createdAt, model, "completed", [output.item("completed")], openAiResponsesUsage(usage));
    await responder.json(200, body, openAiHeaders());
    return;
  }

  let sequence = 0;
  const event = (type: string, fields: JsonObject): string => namedEvent(type, { type, ...fields, sequence_number: sequence++ });
  const events = (list: Array<[string, JsonObject]>): string[] => list.map(([type, fields]) => event(type, fields));
  const plan: StreamPlan = {
    opening: [event("response.created", { response: responseObject(id, createdAt, model, "in_progress", [], null) }), event("response.in_progress", { response: responseObject(id, createdAt, model, "in_progress", [], null) }), ...events(output.added())],
    delta: (piece) => events(output.delta(piece)),
    closing: () => [...events(output.done()), event("response.completed", { response: responseObject(id, createdAt, model, "completed", [output.item("completed")], openAiResponsesUsage(usage)) })],
    // As captured from the live API: an `error` event, then `response.failed` without usage.
    errorEvents: (error: BehaviourError, written: number) => {
      const code = openAiErrorCode(error.type) ?? error.type;
      sequence = written;
      return [event("error", { error: { type: error.type, code, message: error.message, param: null } }), event("response.failed", { response: responseObject(id, createdAt, model, "failed", [], null, { code, message: error.message }) })];
    },
  };
  await responder.head(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", ...openAiHeaders() });
  const pieces = behaviour.endless ? endlessPieces() : textPieces(output.streamedSource, behaviour.chunks);
  await runStream(responder, plan, pieces, behaviour, openAiMidStreamError);
}
