import { createUsageReader } from "../../usage/index.ts";
import { anthropicErrorMessage, anthropicVersion, parseAnthropicResponse, toAnthropicBody } from "./anthropic.ts";
import { openAIErrorMessage, parseOpenAIResponse, toOpenAIBody } from "./openai.ts";
import { ModelCallError, type ChatRequest, type ChatResult, type ChatTransport, type ModelFailureKind, type ModelRef } from "./types.ts";

export interface GatewayTransportOptions {
  /** Gatehouse base URL, e.g. https://gatehouse.example.com */
  baseUrl: string;
  /** The caller's gateway token (never the provider key: the gateway injects that). */
  token: string;
  fetch?: typeof fetch;
}

function failureKind(status: number): ModelFailureKind {
  if (status === 401) return "auth";
  if (status === 408 || status === 504) return "timeout";
  if (status === 429 || status >= 500) return "unavailable";
  return "rejected";
}

/** The gateway URL for a message, without a query or fragment someone may have put into it. */
function withoutCredentials(baseUrl: string): string {
  try {
    const url = new URL(baseUrl);
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
  } catch (err) {
    if (err instanceof TypeError) return "(invalid gateway URL)";
    throw err;
  }
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, a TLS error) is its cause. */
function networkReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
}

/** Non-streaming chat over Gatehouse's provider routes, in each provider's native wire format. */
export class GatewayTransport implements ChatTransport {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: GatewayTransportOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
      throw new Error(`gateway URL is not a URL; set gateway.url (or --gateway-url) to e.g. https://gatehouse.example.com`);
    }
    // fetch refuses such URLs and repeats them, credentials included, in its error message.
    if (url.username !== "" || url.password !== "") throw new Error("gateway URL must not contain user:password@; the token goes in the variable named by gateway.tokenEnv");
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.fetchImpl = options.fetch ?? fetch;
  }

  async send(model: ModelRef, request: ChatRequest, signal: AbortSignal): Promise<ChatResult> {
    const anthropic = model.chat.format === "anthropic-messages";
    const url = `${this.baseUrl}${model.chat.path}`;
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (model.chat.tokenHeader === "x-api-key") headers["x-api-key"] = this.options.token;
    else headers["authorization"] = `Bearer ${this.options.token}`;
    if (anthropic) headers["anthropic-version"] = anthropicVersion;
    const body = anthropic ? toAnthropicBody(model.model, request) : toOpenAIBody(model.model, request, model.chat.maxTokensField);
    let response: Response;
    try {
      response = await this.fetchImpl(url, { method: "POST", headers, body: JSON.stringify(body), signal });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      throw new ModelCallError(model.ref, timedOut ? "timeout" : "unavailable", timedOut ? "request timed out" : `network error reaching the gateway at ${withoutCredentials(this.baseUrl)}: ${networkReason(err)}`);
    }
    let parsed: unknown;
    const text = await response.text();
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      throw new ModelCallError(model.ref, response.ok ? "bad_response" : failureKind(response.status), `HTTP ${response.status}, body is not JSON`, response.status);
    }
    if (!response.ok) {
      const detail = (anthropic ? anthropicErrorMessage(parsed) : openAIErrorMessage(parsed)) ?? "unrecognised error body";
      throw new ModelCallError(model.ref, failureKind(response.status), `HTTP ${response.status} ${detail}`, response.status);
    }
    const result = anthropic ? parseAnthropicResponse(parsed) : parseOpenAIResponse(parsed);
    if (typeof result === "string") throw new ModelCallError(model.ref, "bad_response", result, response.status);
    // Tokens are read by the gateway's own usage reader, so a review is counted exactly as the ledger counts it.
    const usageReader = createUsageReader(model.chat.format, { streaming: false });
    usageReader.push(new TextEncoder().encode(text));
    return { ...result, usage: usageReader.finish().usage };
  }
}
