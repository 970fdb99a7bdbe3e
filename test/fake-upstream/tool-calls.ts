import type { JsonObject } from "./route.ts";
import type { Behaviour, ToolCallBehaviour } from "./types.ts";

/**
 * When a request gets the behaviour's tool call instead of text: it offers the named tool and
 * carries no tool result yet. Each provider states where tools and results live in its wire
 * format; the decision is the same everywhere (a model calling one tool once, then answering).
 */
export interface ToolWire {
  offeredNames(body: JsonObject): string[];
  hasToolResult(body: JsonObject): boolean;
}

export function toolCallFor(behaviour: Behaviour, body: JsonObject, wire: ToolWire): ToolCallBehaviour | undefined {
  const call = behaviour.toolCall;
  if (!call) return undefined;
  if (!wire.offeredNames(body).includes(call.name)) return undefined;
  return wire.hasToolResult(body) ? undefined : call;
}

const objects = (value: unknown): JsonObject[] => (Array.isArray(value) ? value.filter((v): v is JsonObject => v !== null && typeof v === "object" && !Array.isArray(v)) : []);
const names = (items: JsonObject[]): string[] => items.map((t) => t["name"]).filter((n): n is string => typeof n === "string");

/** Anthropic: `tools[].name`; results are `tool_result` blocks in a user message. */
export const anthropicTools: ToolWire = {
  offeredNames: (body) => names(objects(body["tools"])),
  hasToolResult: (body) => objects(body["messages"]).some((m) => objects(m["content"]).some((block) => block["type"] === "tool_result")),
};

/** OpenAI Responses: `tools[].name` (function and custom tools); results are `function_call_output` / `custom_tool_call_output` input items. */
export const openAiResponsesTools: ToolWire = {
  offeredNames: (body) => names(objects(body["tools"])),
  hasToolResult: (body) => objects(body["input"]).some((item) => item["type"] === "function_call_output" || item["type"] === "custom_tool_call_output"),
};

/** Gemini: `tools[].functionDeclarations[].name`; results are `functionResponse` parts. */
export const geminiTools: ToolWire = {
  offeredNames: (body) => objects(body["tools"]).flatMap((tool) => names(objects(tool["functionDeclarations"]))),
  hasToolResult: (body) => objects(body["contents"]).some((content) => objects(content["parts"]).some((part) => part["functionResponse"] !== undefined)),
};
