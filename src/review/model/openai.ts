import { isRecord, str, type JsonRecord } from "./json.ts";
import type { ChatRequest, ChatResult, StopReason, ToolCall } from "./types.ts";

/**
 * OpenAI Chat Completions request body. The answer's cap goes in the field the provider's
 * descriptor names: OpenAI's reasoning models reject `max_tokens`; many compatible servers
 * know only `max_tokens`.
 */
export function toOpenAIBody(model: string, request: ChatRequest, maxTokensField: "max_tokens" | "max_completion_tokens"): JsonRecord {
  const messages: JsonRecord[] = [{ role: "system", content: request.system }];
  for (const message of request.messages) {
    if (message.role === "user") messages.push({ role: "user", content: message.text });
    else if (message.role === "tool") {
      for (const r of message.results) messages.push({ role: "tool", tool_call_id: r.id, content: r.isError ? `ERROR: ${r.content}` : r.content });
    } else {
      // content may be null only beside tool_calls; an empty answer is sent as a placeholder.
      const content = message.text !== "" ? message.text : message.toolCalls.length > 0 ? null : "(no answer)";
      const entry: JsonRecord = { role: "assistant", content };
      if (message.toolCalls.length > 0) {
        entry["tool_calls"] = message.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: JSON.stringify(c.input) } }));
      }
      messages.push(entry);
    }
  }
  const body: JsonRecord = { model, messages };
  body[maxTokensField] = request.maxTokens;
  if (request.tools.length > 0) {
    body["tools"] = request.tools.map((t) => ({ type: "function", function: { name: t.name, description: t.description, parameters: t.inputSchema } }));
  }
  return body;
}

const finishReasons: Record<string, StopReason> = { stop: "end", tool_calls: "tool_use", function_call: "tool_use", length: "max_tokens" };

export function parseOpenAIResponse(body: unknown): Omit<ChatResult, "usage"> | string {
  if (!isRecord(body) || !Array.isArray(body["choices"])) return "response is not a chat completion";
  const choice = (body["choices"] as unknown[])[0];
  if (!isRecord(choice) || !isRecord(choice["message"])) return "chat completion has no choices[0].message";
  const message = choice["message"];
  const toolCalls: ToolCall[] = [];
  for (const call of Array.isArray(message["tool_calls"]) ? message["tool_calls"] : []) {
    if (!isRecord(call) || !isRecord(call["function"])) continue;
    const fn = call["function"];
    let input: Record<string, unknown> = {};
    let inputError: string | undefined;
    try {
      const parsed: unknown = JSON.parse(str(fn["arguments"]) ?? "{}");
      if (isRecord(parsed)) input = parsed;
      else inputError = "arguments were not a JSON object";
    } catch (err) {
      inputError = `arguments were not valid JSON: ${err instanceof Error ? err.message : String(err)}`;
    }
    toolCalls.push({ id: str(call["id"]) ?? `call_${toolCalls.length}`, name: str(fn["name"]) ?? "", input, inputError });
  }
  return {
    text: str(message["content"]) ?? "",
    toolCalls,
    stop: finishReasons[str(choice["finish_reason"]) ?? ""] ?? "other",
    model: str(body["model"]) ?? "",
  };
}

export function openAIErrorMessage(body: unknown): string | undefined {
  if (isRecord(body) && isRecord(body["error"])) {
    const error = body["error"];
    return `${str(error["type"]) ?? str(error["code"]) ?? "error"}: ${str(error["message"]) ?? ""}`;
  }
  return undefined;
}
