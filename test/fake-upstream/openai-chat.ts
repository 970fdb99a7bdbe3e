import { answerText, endlessPieces, hexId, nowSeconds, randomId, textPieces } from "./content.ts";
import { openAiErrorCode, openAiHeaders, openAiMidStreamError } from "./openai-common.ts";
import { dataEvent, runStream, type StreamPlan } from "./responder.ts";
import { stringField, type JsonObject, type RequestContext } from "./route.ts";
import type { BehaviourError } from "./types.ts";
import { openAiChatUsage, resolveUsage } from "./usage.ts";

/**
 * POST /v1/chat/completions, JSON and SSE. Shapes follow the API reference (chat object,
 * chat.completion.chunk) and a captured live stream (vercel/ai openai-text fixtures).
 */
export async function openAiChat(ctx: RequestContext): Promise<void> {
  const requested = stringField(ctx.body, "model");
  if (requested === undefined) return ctx.reject("you must provide a model parameter");
  if (!Array.isArray(ctx.body["messages"])) return ctx.reject("Missing required parameter: 'messages'.");
  const { behaviour, responder } = ctx;
  const model = behaviour.model ?? requested;
  const usage = resolveUsage(behaviour.usage);
  const text = answerText(behaviour);
  const id = randomId("chatcmpl-", 29);
  const created = nowSeconds();
  const systemFingerprint = hexId("fp_", 5);

  if (ctx.body["stream"] !== true) {
    await responder.json(
      200,
      {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null, annotations: [] }, logprobs: null, finish_reason: "stop" }],
        usage: openAiChatUsage(usage),
        service_tier: "default",
        system_fingerprint: systemFingerprint,
      },
      openAiHeaders(),
    );
    return;
  }

  const options = ctx.body["stream_options"];
  const includeUsage = options !== null && typeof options === "object" && (options as JsonObject)["include_usage"] === true;
  // With include_usage every chunk carries `"usage": null` and one extra chunk with
  // `choices: []` carries the totals before [DONE]; without it there is no usage at all.
  const chunk = (choices: unknown[], usageValue: unknown = null): string => {
    const body: JsonObject = { id, object: "chat.completion.chunk", created, model, service_tier: "default", system_fingerprint: systemFingerprint, choices };
    if (includeUsage) body["usage"] = usageValue;
    body["obfuscation"] = randomId("", 6);
    return dataEvent(body);
  };
  const choice = (delta: JsonObject, finishReason: string | null = null): JsonObject => ({ index: 0, delta, logprobs: null, finish_reason: finishReason });

  const plan: StreamPlan = {
    opening: [chunk([choice({ role: "assistant", content: "", refusal: null })])],
    delta: (piece) => [chunk([choice({ content: piece })])],
    closing: () => [chunk([choice({}, "stop")]), ...(includeUsage ? [chunk([], openAiChatUsage(usage))] : []), "data: [DONE]\n\n"],
    // The API reports a failure after the stream started as a bare error object, then stops.
    errorEvents: (error: BehaviourError) => [dataEvent({ error: { message: error.message, type: error.type, param: null, code: openAiErrorCode(error.type) } })],
  };
  await responder.head(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", ...openAiHeaders() });
  const pieces = behaviour.endless ? endlessPieces() : textPieces(text, behaviour.chunks);
  await runStream(responder, plan, pieces, behaviour, openAiMidStreamError);
}
