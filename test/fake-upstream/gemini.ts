import { answerText, endlessPieces, randomId, textPieces } from "./content.ts";
import { runStream, type StreamPlan } from "./responder.ts";
import type { ErrorReply, JsonObject, ProviderApi, RequestContext } from "./route.ts";
import { geminiTools, toolCallFor } from "./tool-calls.ts";
import type { BehaviourError, NeutralUsage, ToolCallBehaviour } from "./types.ts";
import { geminiUsage, resolveUsage } from "./usage.ts";

// https://ai.google.dev/gemini-api/docs/troubleshooting: canonical status <-> HTTP code.
const codeByStatus: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 429,
  CANCELLED: 499,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};
const statusByCode: Record<number, string> = { 400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED" };
const defaultMessages: Record<string, string> = {
  INVALID_ARGUMENT: "Request contains an invalid argument.",
  RESOURCE_EXHAUSTED: "Resource has been exhausted (e.g. check quota).",
  INTERNAL: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
  UNAVAILABLE: "The model is overloaded. Please try again later.",
  DEADLINE_EXCEEDED: "The request timed out. Please try again.",
};

const errorBody = (code: number, message: string, status: string, details?: unknown[]): JsonObject => ({ error: { code, message, status, ...(details ? { details } : {}) } });
const reply = (code: number, message: string, status: string, details?: unknown[]): ErrorReply => ({ status: code, body: errorBody(code, message, status, details) });

const midStreamError: BehaviourError = { type: "UNAVAILABLE", message: defaultMessages["UNAVAILABLE"] ?? "" };

const candidate = (text: string, finishReason?: string, call?: ToolCallBehaviour): JsonObject => ({
  content: { parts: [call ? { functionCall: { name: call.name, args: call.arguments } } : { text }], role: "model" },
  ...(finishReason ? { finishReason } : {}),
  index: 0,
});

interface Answer {
  model: string;
  responseId: string;
  usage: NeutralUsage;
  text: string;
  /** Gemini sends a function call whole, in one chunk, with the finish reason. */
  call: ToolCallBehaviour | undefined;
}

function prepare(ctx: RequestContext): Answer | string {
  if (!Array.isArray(ctx.body["contents"])) return "* GenerateContentRequest.contents: contents is not specified\n";
  return {
    model: ctx.behaviour.model ?? ctx.params[0] ?? "",
    responseId: randomId("", 22),
    usage: resolveUsage(ctx.behaviour.usage),
    text: answerText(ctx.behaviour),
    call: toolCallFor(ctx.behaviour, ctx.body, geminiTools),
  };
}

export async function generateContent(ctx: RequestContext): Promise<void> {
  const answer = prepare(ctx);
  if (typeof answer === "string") return ctx.reject(answer);
  await ctx.responder.json(
    200,
    {
      candidates: [candidate(answer.text, "STOP", answer.call)],
      usageMetadata: geminiUsage(answer.usage),
      modelVersion: answer.model,
      responseId: answer.responseId,
    },
    { "content-type": "application/json; charset=UTF-8" },
  );
}

/**
 * `alt=sse` gives `data: {...}` events ending in CRLF CRLF; without it the API streams one
 * JSON array whose elements arrive one by one (`[{...}`, `\r\n,\r\n{...}`, `]`). Every chunk
 * carries usageMetadata so far; the last one (with finishReason) has the final counts.
 */
export async function streamGenerateContent(ctx: RequestContext): Promise<void> {
  const answer = prepare(ctx);
  if (typeof answer === "string") return ctx.reject(answer);
  const { behaviour, responder } = ctx;
  const sse = ctx.query.get("alt") === "sse";
  const pieces = behaviour.endless ? endlessPieces() : answer.call ? [] : textPieces(answer.text, behaviour.chunks);
  const total = Array.isArray(pieces) ? pieces.length : Number.POSITIVE_INFINITY;
  const visible = answer.usage.output - answer.usage.reasoning;

  let first = true;
  const frame = (body: JsonObject): string => {
    if (sse) return `data: ${JSON.stringify(body)}\r\n\r\n`;
    const text = JSON.stringify(body, null, 2);
    if (first) {
      first = false;
      return `[${text}`;
    }
    return `\r\n,\r\n${text}`;
  };
  const chunk = (text: string, usageMetadata: JsonObject, finishReason?: string, call?: ToolCallBehaviour): string => frame({ candidates: [candidate(text, finishReason, call)], usageMetadata, modelVersion: answer.model, responseId: answer.responseId });

  const plan: StreamPlan = {
    opening: [],
    // Partial candidate counts stay below the final one, so summing chunks is visibly wrong.
    delta: (piece, index) => [chunk(piece, geminiUsage(answer.usage, Math.floor((visible * (index + 1)) / (total + 1))))],
    closing: () => [chunk("", geminiUsage(answer.usage), "STOP", answer.call), ...(sse ? [] : ["]"])],
    errorEvents: (error: BehaviourError) => {
      const code = codeByStatus[error.type] ?? 500;
      const event = frame(errorBody(code, error.message, error.type));
      return sse ? [event] : [event, "]"];
    },
  };
  await responder.head(200, { "content-type": sse ? "text/event-stream" : "application/json; charset=UTF-8", "cache-control": "no-cache" });
  await runStream(responder, plan, pieces, behaviour, midStreamError);
}

export async function countTokens(ctx: RequestContext): Promise<void> {
  const contents = ctx.body["contents"] ?? (ctx.body["generateContentRequest"] as JsonObject | undefined)?.["contents"];
  if (!Array.isArray(contents)) return ctx.reject("* CountTokensRequest.contents: contents is not specified\n");
  const total = ctx.behaviour.usage?.input ?? Math.max(1, Math.ceil(JSON.stringify(contents).length / 4));
  await ctx.responder.json(200, { totalTokens: total, promptTokensDetails: [{ modality: "TEXT", tokenCount: total }] }, { "content-type": "application/json; charset=UTF-8" });
}

const models = ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite"].map((id) => ({
  name: `models/${id}`,
  version: "001",
  displayName: id,
  description: `Fake ${id}`,
  inputTokenLimit: 1048576,
  outputTokenLimit: 65536,
  supportedGenerationMethods: ["generateContent", "countTokens", "streamGenerateContent"],
  temperature: 1,
  topP: 0.95,
  topK: 64,
  maxTemperature: 2,
  thinking: true,
}));

async function listModels(ctx: RequestContext): Promise<void> {
  await ctx.responder.json(200, { models }, { "content-type": "application/json; charset=UTF-8" });
}

const apiKeyInvalidDetails = [
  { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com", metadata: { service: "generativelanguage.googleapis.com" } },
  { "@type": "type.googleapis.com/google.rpc.LocalizedMessage", locale: "en-US", message: "API key not valid. Please pass a valid API key." },
];

export const geminiApi: ProviderApi = {
  name: "google",
  routes: [
    { method: "POST", pattern: /^\/v1(?:beta|alpha)?\/models\/([^/:]+):generateContent$/, handle: generateContent },
    { method: "POST", pattern: /^\/v1(?:beta|alpha)?\/models\/([^/:]+):streamGenerateContent$/, handle: streamGenerateContent },
    { method: "POST", pattern: /^\/v1(?:beta|alpha)?\/models\/([^/:]+):countTokens$/, handle: countTokens },
    { method: "GET", pattern: /^\/v1(?:beta|alpha)?\/models$/, handle: listModels },
  ],
  authenticate(headers, query, key) {
    const given = headers["x-goog-api-key"] ?? query.get("key") ?? undefined;
    if (given === undefined) {
      return reply(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", "PERMISSION_DENIED");
    }
    if (given !== key) return reply(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT", apiKeyInvalidDetails);
    return undefined;
  },
  errorReply(status, error) {
    const statusName = error?.type ?? statusByCode[status ?? 500] ?? "INTERNAL";
    const code = status ?? codeByStatus[statusName] ?? 500;
    return reply(code, error?.message ?? defaultMessages[statusName] ?? "Error", statusName);
  },
  notFound: (method, path) => reply(404, `Method not found: ${method} ${path}`, "NOT_FOUND"),
  invalidRequest: (message) => reply(400, message, "INVALID_ARGUMENT"),
};
