import { GatewayError } from "../core/errors.ts";
import type { UpstreamProviderConfig } from "../config/index.ts";
import type { JsonObject, ProviderDescriptor, RequestShape } from "../providers/index.ts";
import { bedrockStreamAsAnthropicSse } from "./cross-provider-bedrock-stream.ts";
import type { ChunkTransform } from "./transport.ts";

/**
 * One fallback attempt on another provider of the client's wire family, as that provider
 * wants it: its path (before the route puts the org's account in), its body, which client
 * headers it does not take, and how its answer is re-framed into the client's format. The
 * attempt is metered and priced as the provider that serves it (`shape`).
 */
export interface CrossProviderAttempt {
  /** The attempt as the serving provider sees it: its endpoint name, wire format, model, streaming. */
  shape: RequestShape;
  /** The forward path on the serving provider (Vertex AI's project and location are the route's to fill in). */
  path: string;
  body: JsonObject;
  /** Client request headers the serving provider does not take (their meaning moved into the body, or it has none there). */
  dropHeaders: readonly string[];
  /** Re-frames a successful answer into the client's wire format; unset when the answer already is in it. */
  transform?: (() => ChunkTransform) | undefined;
  /** The content type the client is sent with a re-framed answer. */
  answerContentType?: string | undefined;
}

/** `config` is the serving provider's (Azure's deployments). Throws a GatewayError when the attempt cannot be made there (nothing is sent). */
type Translate = (shape: RequestShape, body: JsonObject, model: string, headers: Readonly<Record<string, string | string[] | undefined>>, config: UpstreamProviderConfig) => CrossProviderAttempt;

/** The body without the keys the serving provider refuses, plus its own. A copy: the client's body stays as classified for the next attempt. */
function rebuilt(body: JsonObject, drop: readonly string[], add: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key in body) if (!drop.includes(key)) out[key] = body[key];
  return Object.assign(out, add);
}

/** `anthropic-beta: a, b` (repeated or comma-separated) as the list Bedrock takes in the body. */
function betaList(value: string | string[] | undefined): string[] {
  const text = Array.isArray(value) ? value.join(",") : (value ?? "");
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Anthropic's Messages request as Claude on Vertex AI takes it
 * (https://docs.anthropic.com/en/api/claude-on-vertex-ai): the model in the path
 * (`:rawPredict`, `:streamRawPredict` for a stream), `anthropic_version: vertex-2023-10-16`
 * in the body instead of the `anthropic-version` header; `anthropic-beta` stays a header
 * (Vertex reads it there). The answer is Anthropic's, byte for byte.
 */
const anthropicToVertex: Translate = (shape, body, model) => {
  const method = shape.streaming ? "streamRawPredict" : "rawPredict";
  return {
    shape: { ...shape, endpoint: shape.streaming ? "messages_stream" : "messages", model },
    path: `/v1/projects/-/locations/-/publishers/anthropic/models/${encodeURIComponent(model)}:${method}`,
    body: rebuilt(body, ["model", "anthropic_version"], { anthropic_version: "vertex-2023-10-16" }),
    dropHeaders: ["anthropic-version"],
  };
};

/**
 * Anthropic's Messages request as Claude on Bedrock's InvokeModel takes it
 * (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages.html):
 * the model id in the path (`invoke`, `invoke-with-response-stream` for a stream), no `model`
 * or `stream` in the body, `anthropic_version: bedrock-2023-05-31`, and the `anthropic-beta`
 * header's betas as the body's `anthropic_beta` list. A stream comes back as AWS event-stream
 * frames and is re-framed into Anthropic's Server-Sent Events.
 */
const anthropicToBedrock: Translate = (shape, body, model, headers) => {
  const betas = betaList(headers["anthropic-beta"]);
  const add: JsonObject = { anthropic_version: "bedrock-2023-05-31" };
  if (betas.length > 0) add["anthropic_beta"] = betas;
  return {
    shape: { ...shape, endpoint: shape.streaming ? "invoke_stream" : "invoke", format: "bedrock-invoke", model, endUser: undefined },
    path: `/model/${encodeURIComponent(model)}/${shape.streaming ? "invoke-with-response-stream" : "invoke"}`,
    body: rebuilt(body, ["model", "stream", "anthropic_version", "anthropic_beta"], add),
    dropHeaders: ["anthropic-version", "anthropic-beta"],
    transform: shape.streaming ? bedrockStreamAsAnthropicSse : undefined,
    answerContentType: shape.streaming ? "text/event-stream; charset=utf-8" : undefined,
  };
};

/**
 * OpenAI's Chat Completions or Responses request as Azure OpenAI's v1 API takes it
 * (https://learn.microsoft.com/azure/ai-foundry/openai/reference-preview-latest): the same
 * body at `/openai/v1/chat/completions` or `/openai/v1/responses`, no api-version, the
 * deployment that serves the routed model (`providers.azure-openai.deployments`) as `model`.
 * The answer is OpenAI's wire as it comes.
 */
const openaiToAzure: Translate = (shape, body, model, _headers, config) => {
  const deployment = Object.entries(config.deployments ?? {}).find(([, served]) => served === model)?.[0];
  if (deployment === undefined) throw new GatewayError("not_configured", `This request falls back to azure-openai/${model}, and no deployment of provider azure-openai serves it: declare one under providers.azure-openai.deployments in gatehouse.yaml.`);
  return {
    shape: { ...shape, model },
    path: shape.endpoint === "responses" ? "/openai/v1/responses" : "/openai/v1/chat/completions",
    body: rebuilt(body, ["model"], { model: deployment }),
    dropHeaders: [],
  };
};

const TRANSLATIONS: Readonly<Record<string, Translate>> = {
  "anthropic>vertex": anthropicToVertex,
  "anthropic>bedrock": anthropicToBedrock,
  "openai>azure-openai": openaiToAzure,
};

/**
 * The attempt on `to` for a request that came in on `from` (routing kept the entry only when
 * the two share a wire family for this endpoint, src/policy/routing.ts crossesTo). Undefined
 * when there is no translation for the pair: the attempt is not made (never forwarded as is).
 */
export function crossProviderAttempt(
  from: ProviderDescriptor,
  to: ProviderDescriptor,
  shape: RequestShape,
  body: JsonObject | undefined,
  model: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  config: UpstreamProviderConfig,
): CrossProviderAttempt | undefined {
  const translate = TRANSLATIONS[`${from.id}>${to.id}`];
  if (!translate || !body || !from.wireFamily?.endpoints.includes(shape.endpoint)) return undefined;
  return translate(shape, body, model, headers, config);
}

/** The error code the client is told for a serving provider's error status it never sees (its body is in that provider's shape). */
export function crossProviderErrorCode(status: number): "bad_request" | "not_found" | "payload_too_large" | "rate_limited" | "upstream_timeout" | "upstream_unavailable" {
  if (status === 429) return "rate_limited";
  if (status === 413) return "payload_too_large";
  if (status === 404) return "not_found";
  if (status === 504 || status === 408) return "upstream_timeout";
  // 401/403: the gateway's own credentials for the fallback were refused, which the caller cannot fix.
  if (status >= 400 && status < 500 && status !== 401 && status !== 403) return "bad_request";
  return "upstream_unavailable";
}
