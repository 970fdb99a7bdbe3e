/**
 * The providers' wire shapes as strict zod schemas (unknown keys are errors), so a test can
 * assert an exact field set and get typed access in one `parse`. They describe what the
 * fake sends, which follows the providers' documentation and captured live traffic (see
 * README.md); gateway tests may reuse them to check what reaches a client.
 */
import { z } from "zod";

const count = z.number().int().nonnegative();

// ---------------------------------------------------------------- Anthropic Messages
export const anthropicUsage = z.strictObject({
  input_tokens: count,
  cache_creation_input_tokens: count,
  cache_read_input_tokens: count,
  cache_creation: z.strictObject({ ephemeral_5m_input_tokens: count, ephemeral_1h_input_tokens: count }),
  output_tokens: count,
  service_tier: z.string(),
});

export const anthropicMessage = z.strictObject({
  model: z.string(),
  id: z.string().startsWith("msg_"),
  type: z.literal("message"),
  role: z.literal("assistant"),
  content: z.array(z.strictObject({ type: z.literal("text"), text: z.string() })),
  stop_reason: z.string().nullable(),
  stop_sequence: z.null(),
  usage: anthropicUsage,
});

export const anthropicError = z.strictObject({
  type: z.literal("error"),
  error: z.strictObject({ type: z.string(), message: z.string() }),
  request_id: z.string().startsWith("req_"),
});

export const anthropicStreamEvent = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("message_start"), message: anthropicMessage }),
  z.strictObject({ type: z.literal("content_block_start"), index: count, content_block: z.strictObject({ type: z.literal("text"), text: z.string() }) }),
  z.strictObject({ type: z.literal("ping") }),
  z.strictObject({ type: z.literal("content_block_delta"), index: count, delta: z.strictObject({ type: z.literal("text_delta"), text: z.string() }) }),
  z.strictObject({ type: z.literal("content_block_stop"), index: count }),
  z.strictObject({
    type: z.literal("message_delta"),
    delta: z.strictObject({ stop_reason: z.string(), stop_sequence: z.null() }),
    usage: z.strictObject({ input_tokens: count, cache_creation_input_tokens: count, cache_read_input_tokens: count, output_tokens: count }),
  }),
  z.strictObject({ type: z.literal("message_stop") }),
  z.strictObject({ type: z.literal("error"), error: z.strictObject({ type: z.string(), message: z.string() }) }),
]);

export const anthropicModelList = z.strictObject({
  data: z.array(z.strictObject({ type: z.literal("model"), id: z.string(), display_name: z.string(), created_at: z.string() })),
  has_more: z.boolean(),
  first_id: z.string().nullable(),
  last_id: z.string().nullable(),
});

// ---------------------------------------------------------------- OpenAI
export const openAiError = z.strictObject({
  error: z.strictObject({ message: z.string(), type: z.string(), param: z.string().nullable(), code: z.string().nullable() }),
});

export const openAiChatUsage = z.strictObject({
  prompt_tokens: count,
  completion_tokens: count,
  total_tokens: count,
  prompt_tokens_details: z.strictObject({ cached_tokens: count, audio_tokens: count }),
  completion_tokens_details: z.strictObject({ reasoning_tokens: count, audio_tokens: count, accepted_prediction_tokens: count, rejected_prediction_tokens: count }),
});

export const openAiChatCompletion = z.strictObject({
  id: z.string().startsWith("chatcmpl-"),
  object: z.literal("chat.completion"),
  created: count,
  model: z.string(),
  choices: z.array(
    z.strictObject({
      index: count,
      message: z.strictObject({ role: z.literal("assistant"), content: z.string(), refusal: z.null(), annotations: z.array(z.unknown()) }),
      logprobs: z.null(),
      finish_reason: z.string(),
    }),
  ),
  usage: openAiChatUsage,
  service_tier: z.string(),
  system_fingerprint: z.string().startsWith("fp_"),
});

export const openAiChatChunk = z.strictObject({
  id: z.string().startsWith("chatcmpl-"),
  object: z.literal("chat.completion.chunk"),
  created: count,
  model: z.string(),
  service_tier: z.string(),
  system_fingerprint: z.string().startsWith("fp_"),
  choices: z.array(
    z.strictObject({
      index: count,
      delta: z.strictObject({ role: z.literal("assistant").optional(), content: z.string().optional(), refusal: z.null().optional() }),
      logprobs: z.null(),
      finish_reason: z.string().nullable(),
    }),
  ),
  usage: openAiChatUsage.nullable().optional(),
  obfuscation: z.string(),
});

export const openAiResponsesUsage = z.strictObject({
  input_tokens: count,
  input_tokens_details: z.strictObject({ cache_write_tokens: count, cached_tokens: count }),
  output_tokens: count,
  output_tokens_details: z.strictObject({ reasoning_tokens: count }),
  total_tokens: count,
});

const outputText = z.strictObject({ type: z.literal("output_text"), annotations: z.array(z.unknown()), logprobs: z.array(z.unknown()), text: z.string() });
const outputMessage = z.strictObject({ id: z.string().startsWith("msg_"), type: z.literal("message"), status: z.string(), content: z.array(outputText), role: z.literal("assistant") });

export const openAiResponse = z.strictObject({
  id: z.string().startsWith("resp_"),
  object: z.literal("response"),
  created_at: count,
  status: z.enum(["in_progress", "completed", "failed"]),
  background: z.boolean(),
  completed_at: count.nullable(),
  error: z.strictObject({ code: z.string(), message: z.string() }).nullable(),
  incomplete_details: z.null(),
  instructions: z.null(),
  max_output_tokens: z.null(),
  max_tool_calls: z.null(),
  model: z.string(),
  output: z.array(outputMessage),
  parallel_tool_calls: z.boolean(),
  previous_response_id: z.null(),
  prompt_cache_key: z.null(),
  reasoning: z.strictObject({ effort: z.null(), summary: z.null() }),
  safety_identifier: z.null(),
  service_tier: z.string(),
  store: z.boolean(),
  temperature: z.number(),
  text: z.strictObject({ format: z.strictObject({ type: z.literal("text") }), verbosity: z.string() }),
  tool_choice: z.string(),
  tools: z.array(z.unknown()),
  top_logprobs: count,
  top_p: z.number(),
  truncation: z.string(),
  usage: openAiResponsesUsage.nullable(),
  user: z.null(),
  metadata: z.record(z.string(), z.unknown()),
});

const seq = { sequence_number: count };
const part = { item_id: z.string(), output_index: count, content_index: count };
export const openAiResponsesEvent = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("response.created"), response: openAiResponse, ...seq }),
  z.strictObject({ type: z.literal("response.in_progress"), response: openAiResponse, ...seq }),
  z.strictObject({ type: z.literal("response.output_item.added"), output_index: count, item: outputMessage, ...seq }),
  z.strictObject({ type: z.literal("response.content_part.added"), ...part, part: outputText, ...seq }),
  z.strictObject({ type: z.literal("response.output_text.delta"), ...part, delta: z.string(), logprobs: z.array(z.unknown()), ...seq }),
  z.strictObject({ type: z.literal("response.output_text.done"), ...part, text: z.string(), logprobs: z.array(z.unknown()), ...seq }),
  z.strictObject({ type: z.literal("response.content_part.done"), ...part, part: outputText, ...seq }),
  z.strictObject({ type: z.literal("response.output_item.done"), output_index: count, item: outputMessage, ...seq }),
  z.strictObject({ type: z.literal("response.completed"), response: openAiResponse, ...seq }),
  z.strictObject({ type: z.literal("response.failed"), response: openAiResponse, ...seq }),
  z.strictObject({ type: z.literal("error"), error: z.strictObject({ type: z.string(), code: z.string(), message: z.string(), param: z.null() }), ...seq }),
]);

export const openAiEmbeddingList = z.strictObject({
  object: z.literal("list"),
  data: z.array(z.strictObject({ object: z.literal("embedding"), index: count, embedding: z.union([z.array(z.number()), z.string()]) })),
  model: z.string(),
  usage: z.strictObject({ prompt_tokens: count, total_tokens: count }),
});

export const openAiModelList = z.strictObject({
  object: z.literal("list"),
  data: z.array(z.strictObject({ id: z.string(), object: z.literal("model"), created: count, owned_by: z.string() })),
});

// ---------------------------------------------------------------- Gemini
const modalityCount = z.array(z.strictObject({ modality: z.string(), tokenCount: count }));

export const geminiUsageMetadata = z.strictObject({
  promptTokenCount: count,
  candidatesTokenCount: count,
  totalTokenCount: count,
  cachedContentTokenCount: count.optional(),
  promptTokensDetails: modalityCount,
  cacheTokensDetails: modalityCount.optional(),
  thoughtsTokenCount: count.optional(),
});

export const geminiResponse = z.strictObject({
  candidates: z.array(
    z.strictObject({
      content: z.strictObject({ parts: z.array(z.strictObject({ text: z.string() })), role: z.literal("model") }),
      finishReason: z.string().optional(),
      index: count,
    }),
  ),
  usageMetadata: geminiUsageMetadata,
  modelVersion: z.string(),
  responseId: z.string(),
});

export const geminiError = z.strictObject({
  error: z.strictObject({ code: z.number().int(), message: z.string(), status: z.string(), details: z.array(z.unknown()).optional() }),
});

export const geminiCountTokens = z.strictObject({ totalTokens: count, promptTokensDetails: modalityCount });
