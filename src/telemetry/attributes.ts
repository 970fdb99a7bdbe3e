import type { ProviderDescriptor, RequestShape } from "../providers/index.ts";
import type { LedgerRow } from "../ledger/index.ts";

/**
 * Attribute names of the OpenTelemetry semantic conventions this gateway emits, as of
 * @opentelemetry/semantic-conventions 1.45 (GenAI conventions: Development status). The GenAI
 * names are incubating, so they are copied here rather than imported from the package's
 * `incubating` entry (its own advice: those constants may change in a minor release, and the
 * entry loads every incubating name); attributes.test.ts checks each against the package.
 * `gen_ai.provider.name` is the current name of what conventions up to 1.36 called
 * `gen_ai.system`; only the current name is emitted (see docs/telemetry.md).
 */
export const ATTR = {
  operationName: "gen_ai.operation.name",
  providerName: "gen_ai.provider.name",
  requestModel: "gen_ai.request.model",
  requestStream: "gen_ai.request.stream",
  responseModel: "gen_ai.response.model",
  timeToFirstChunk: "gen_ai.response.time_to_first_chunk",
  inputTokens: "gen_ai.usage.input_tokens",
  outputTokens: "gen_ai.usage.output_tokens",
  cacheReadInputTokens: "gen_ai.usage.cache_read.input_tokens",
  cacheCreationInputTokens: "gen_ai.usage.cache_creation.input_tokens",
  reasoningOutputTokens: "gen_ai.usage.reasoning.output_tokens",
  serverAddress: "server.address",
  serverPort: "server.port",
  errorType: "error.type",
  httpMethod: "http.request.method",
  httpRoute: "http.route",
  httpStatus: "http.response.status_code",
  /** The caller's anonymous id: random, stable, never linked to the email outside the gateway's store. */
  callerPseudoId: "enduser.pseudo.id",
  // Gatehouse's own, for what the conventions have no name for.
  requestId: "gatehouse.request_id",
  endpoint: "gatehouse.endpoint",
  outcome: "gatehouse.outcome",
  attempt: "gatehouse.attempt",
  costUsd: "gatehouse.cost_usd",
  unpriced: "gatehouse.unpriced",
  estimated: "gatehouse.usage.estimated",
} as const;

/** The convention's provider name, from the provider's descriptor (one source for provider facts). */
export function providerName(provider: ProviderDescriptor): string {
  return provider.genAiProviderName;
}

/**
 * The convention's operation for an endpoint: inference formats map to its well-known values;
 * an endpoint with no generation (token counting, model lists, files) keeps its own name, as
 * the convention asks when none of its values applies.
 */
export function operationName(shape: RequestShape): string {
  switch (shape.format) {
    case "anthropic-messages":
    case "openai-chat":
    case "openai-responses":
    case "bedrock-invoke":
    case "bedrock-converse":
      return "chat";
    case "gemini":
      return "generate_content";
    case "openai-embeddings":
      return "embeddings";
    case "none":
      return shape.endpoint;
  }
}

/** `{operation} {model}`, the convention's span name; the operation alone when no model is named. */
export function spanName(operation: string, model: string | undefined): string {
  return model ? `${operation} ${model}` : operation;
}

/** `host[:port]` (what the observer reports) as `server.address` and `server.port`. */
export function serverAttributes(hostPort: string): Record<string, string | number> {
  const bracket = hostPort.startsWith("[") ? hostPort.indexOf("]") : -1;
  const colon = bracket >= 0 ? hostPort.indexOf(":", bracket) : hostPort.lastIndexOf(":");
  if (colon < 0) return { [ATTR.serverAddress]: bracket >= 0 ? hostPort.slice(1, bracket) : hostPort };
  const port = Number(hostPort.slice(colon + 1));
  const host = bracket >= 0 ? hostPort.slice(1, bracket) : hostPort.slice(0, colon);
  return Number.isInteger(port) && port > 0 ? { [ATTR.serverAddress]: host, [ATTR.serverPort]: port } : { [ATTR.serverAddress]: host };
}

/**
 * Token counts from the ledger row, in the convention's terms. The ledger keeps token kinds
 * disjoint (uncached input apart from cache reads and writes, so each is priced once); the
 * convention's `input_tokens` includes cached tokens, so it is the sum, and the cache parts
 * are named on their own. Reasoning is part of output in both.
 */
export function usageAttributes(row: LedgerRow): Record<string, number | boolean> {
  const cacheWrite = row.cache_write_5m_tokens + row.cache_write_1h_tokens;
  return {
    [ATTR.inputTokens]: row.input_tokens + row.cache_read_tokens + cacheWrite,
    [ATTR.outputTokens]: row.output_tokens,
    [ATTR.cacheReadInputTokens]: row.cache_read_tokens,
    [ATTR.cacheCreationInputTokens]: cacheWrite,
    [ATTR.reasoningOutputTokens]: row.reasoning_tokens,
    // An unpriced request's cost is unknown: no cost attribute (a 0 would read as free), `gatehouse.unpriced` says why.
    ...(row.unpriced === 1 ? {} : { [ATTR.costUsd]: row.cost_usd }),
    [ATTR.unpriced]: row.unpriced === 1,
    [ATTR.estimated]: row.estimated === 1,
  };
}
