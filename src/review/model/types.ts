import { isProviderId, providerById, providers, type ProviderDescriptor, type ProviderId } from "../../providers/index.ts";
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
export type ChatMessage = { role: "user"; text: string } | { role: "assistant"; text: string; toolCalls: ToolCall[] } | { role: "tool"; results: ToolResult[] };

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
  provider: ProviderId;
  model: string;
  ref: string;
  /** How the reviewer talks to this provider through the gateway (from its descriptor). */
  chat: ChatRoute;
}

/** A provider's chat endpoint as the reviewer calls it: the gateway path, wire format and token header. */
export interface ChatRoute {
  /** Under the gateway's base URL, e.g. `/anthropic/v1/messages`. */
  path: string;
  format: "anthropic-messages" | "openai-chat";
  /** How the caller's gateway token is sent: the header the provider's own SDK would use. */
  tokenHeader: "x-api-key" | "authorization";
  maxTokensField: "max_tokens" | "max_completion_tokens";
}

/** The chat route of each provider that has one (Anthropic Messages or Chat Completions). */
function chatRouteOf(provider: ProviderDescriptor): ChatRoute | undefined {
  const spec = provider.endpoints.find((e) => e.format === "anthropic-messages" || e.format === "openai-chat");
  if (!spec || (spec.format !== "anthropic-messages" && spec.format !== "openai-chat")) return undefined;
  const version = provider.apiPrefix ? `/${provider.apiPrefix.segments[0]}` : "";
  return {
    path: `${provider.routePrefix}${version}${spec.path}`,
    format: spec.format,
    tokenHeader: provider.keyPlacement === "x-api-key" ? "x-api-key" : "authorization",
    maxTokensField: spec.format === "anthropic-messages" ? "max_tokens" : (provider.chatMaxTokensField ?? "max_tokens"),
  };
}

export function parseModelRef(ref: string): ModelRef {
  const slash = ref.indexOf("/");
  const provider = ref.slice(0, slash);
  const model = ref.slice(slash + 1);
  const chat = slash > 0 && model !== "" && isProviderId(provider) ? chatRouteOf(providerById(provider)) : undefined;
  if (!chat || !isProviderId(provider)) {
    const accepted = providers.filter((p) => chatRouteOf(p) !== undefined).map((p) => `${p.id}/<model>`);
    throw new Error(`invalid model ref "${ref}": expected ${accepted.join(", ")}`);
  }
  return { provider, model, ref, chat };
}

/** One chat call to one model; implemented over the gateway with fetch. */
export interface ChatTransport {
  send(model: ModelRef, request: ChatRequest, signal: AbortSignal): Promise<ChatResult>;
}
