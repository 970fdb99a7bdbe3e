import type { TokenUsage } from "../../usage/types.ts";

export interface ToolCall {
  id: string;
  name: string;
  input: Record<string, unknown>;
  /** Set when the model's arguments were not a JSON object; the tool answers with an error. */
  inputError?: string | undefined;
}

export interface ToolResult {
  id: string;
  content: string;
  isError: boolean;
}

/** Provider-neutral conversation, converted to each wire format on send (so a fallback model can continue it). */
export type ChatMessage =
  | { role: "user"; text: string }
  | { role: "assistant"; text: string; toolCalls: ToolCall[] }
  | { role: "tool"; results: ToolResult[] };

export interface ToolSpec {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

export interface ChatRequest {
  system: string;
  messages: ChatMessage[];
  tools: ToolSpec[];
  maxTokens: number;
}

export type StopReason = "end" | "tool_use" | "max_tokens" | "other";

export interface ChatResult {
  text: string;
  toolCalls: ToolCall[];
  stop: StopReason;
  usage: TokenUsage;
  /** Model id the provider reported. */
  model: string;
}

export type ModelFailureKind = "auth" | "unavailable" | "timeout" | "rejected" | "bad_response";

/** A failed model call. `message` never holds the gateway token. */
export class ModelCallError extends Error {
  constructor(
    readonly ref: string,
    readonly kind: ModelFailureKind,
    message: string,
    readonly status?: number,
  ) {
    super(`${ref}: ${message}`);
    this.name = "ModelCallError";
  }
}

export interface ModelRef {
  provider: "anthropic" | "openai" | "compat";
  model: string;
  ref: string;
}

export function parseModelRef(ref: string): ModelRef {
  const slash = ref.indexOf("/");
  const provider = ref.slice(0, slash);
  const model = ref.slice(slash + 1);
  if (slash < 0 || model === "" || (provider !== "anthropic" && provider !== "openai" && provider !== "compat")) {
    throw new Error(`invalid model ref "${ref}": expected anthropic/<model>, openai/<model> or compat/<model>`);
  }
  return { provider, model, ref };
}

/** One chat call to one model; implemented over the gateway with fetch. */
export interface ChatTransport {
  send(model: ModelRef, request: ChatRequest, signal: AbortSignal): Promise<ChatResult>;
}
