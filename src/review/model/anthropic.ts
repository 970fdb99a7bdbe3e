import { isRecord, str, type JsonRecord } from "./json.ts";
import type { ChatRequest, ChatResult, StopReason, ToolCall } from "./types.ts";

export const anthropicVersion = "2023-06-01";

type Block = JsonRecord;

/** Anthropic Messages request body. Consecutive user-side turns are merged: the API requires alternation. */
export function toAnthropicBody(model: string, request: ChatRequest): JsonRecord {
  const messages: Array<{ role: "user" | "assistant"; content: Block[] }> = [];
  const push = (role: "user" | "assistant", blocks: Block[]): void => {
    const last = messages[messages.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const message of request.messages) {
    if (message.role === "user") push("user", [{ type: "text", text: message.text }]);
    else if (message.role === "tool") {
      push(
        "user",
        message.results.map((r) => ({ type: "tool_result", tool_use_id: r.id, content: r.content, ...(r.isError ? { is_error: true } : {}) })),
      );
    } else {
      const blocks: Block[] = [];
      if (message.text !== "") blocks.push({ type: "text", text: message.text });
      for (const call of message.toolCalls) blocks.push({ type: "tool_use", id: call.id, name: call.name, input: call.input });
      push("assistant", blocks.length > 0 ? blocks : [{ type: "text", text: "(no answer)" }]);
    }
  }
  const body: JsonRecord = { model, max_tokens: request.maxTokens, system: request.system, messages };
  if (request.tools.length > 0) body["tools"] = request.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema }));
  return body;
}

const stopReasons: Record<string, StopReason> = { end_turn: "end", stop_sequence: "end", tool_use: "tool_use", max_tokens: "max_tokens" };

export function parseAnthropicResponse(body: unknown): Omit<ChatResult, "usage"> | string {
  if (!isRecord(body) || body["type"] !== "message" || !Array.isArray(body["content"])) return "response is not an Anthropic message";
  const texts: string[] = [];
  const toolCalls: ToolCall[] = [];
  for (const block of body["content"]) {
    if (!isRecord(block)) continue;
    if (block["type"] === "text") texts.push(str(block["text"]) ?? "");
    if (block["type"] === "tool_use") {
      const input = block["input"];
      toolCalls.push({
        id: str(block["id"]) ?? `toolu_${toolCalls.length}`,
        name: str(block["name"]) ?? "",
        input: isRecord(input) ? input : {},
        inputError: isRecord(input) ? undefined : "tool input was not a JSON object",
      });
    }
  }
  return {
    text: texts.join("\n"),
    toolCalls,
    stop: stopReasons[str(body["stop_reason"]) ?? ""] ?? "other",
    model: str(body["model"]) ?? "",
  };
}

export function anthropicErrorMessage(body: unknown): string | undefined {
  if (isRecord(body) && isRecord(body["error"])) {
    const error = body["error"];
    return `${str(error["type"]) ?? "error"}: ${str(error["message"]) ?? ""}`;
  }
  return undefined;
}
