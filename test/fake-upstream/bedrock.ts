import { createHash } from "node:crypto";
import { Sha256 } from "@aws-crypto/sha256-js";
import { EventStreamCodec } from "@smithy/eventstream-codec";
import { SignatureV4 } from "@smithy/signature-v4";
import { answerText, endlessPieces, randomId, textPieces } from "./content.ts";
import { runStream, type StreamPlan, type WireEvent } from "./responder.ts";
import type { ArrivedRequest, ErrorReply, JsonObject, ProviderApi, RequestContext } from "./route.ts";
import type { BehaviourError, NeutralUsage } from "./types.ts";
import { anthropicDeltaUsage, anthropicStartUsage, anthropicUsage, resolveUsage } from "./usage.ts";

/**
 * Amazon Bedrock's runtime API (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_Operations_Amazon_Bedrock_Runtime.html)
 * for the operations Gatehouse serves: InvokeModel and InvokeModelWithResponseStream with
 * Claude's Messages body (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages.html),
 * Converse and ConverseStream. Every request must carry a valid AWS SigV4 signature for
 * service `bedrock`: the fake recomputes it with AWS's own signer (@smithy/signature-v4) from
 * the request as it arrived, so a wrong secret, region, header or body fails. Streams are
 * `application/vnd.amazon.eventstream` frames encoded with AWS's codec; the invoke stream's
 * last chunk carries `amazon-bedrock-invocationMetrics`. Errors are `{"message": …}` with the
 * exception's name in `x-amzn-ErrorType`.
 */
export const FAKE_AWS_ACCESS_KEY_ID = "AKIAFAKEGATEHOUSE001";
export const FAKE_AWS_REGION = "us-east-1";
/** AWS allows 15 minutes between the signature's date and its own clock. */
const MAX_SKEW_MS = 15 * 60_000;

const codec = new EventStreamCodec(
  (bytes) => new TextDecoder().decode(bytes),
  (text) => new TextEncoder().encode(text),
);

const requestId = (): string => crypto.randomUUID();

function reply(status: number, type: string, message: string): ErrorReply {
  return { status, body: { message }, headers: { "x-amzn-errortype": `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`, "x-amzn-requestid": requestId() } };
}

const typeByStatus: Record<number, string> = {
  400: "ValidationException",
  403: "AccessDeniedException",
  404: "ResourceNotFoundException",
  408: "ModelTimeoutException",
  424: "ModelErrorException",
  429: "ThrottlingException",
  500: "InternalServerException",
  503: "ServiceUnavailableException",
};
const statusByType: Record<string, number> = Object.fromEntries(Object.entries(typeByStatus).map(([status, type]) => [type, Number(status)]));
const defaultMessages: Record<string, string> = {
  ThrottlingException: "Too many requests, please wait before trying again.",
  ServiceUnavailableException: "Bedrock is unable to process your request.",
  InternalServerException: "The server encountered an internal error.",
  ValidationException: "Malformed input request, please reformat your input and try again.",
};
const midStreamError: BehaviourError = { type: "internalServerException", message: "The server encountered an internal error while processing the stream." };

/** The Authorization header's parts: `AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, SignedHeaders=a;b, Signature=hex`. */
const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/** `20261201T143000Z` → Date. */
function amzDate(value: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? "");
  return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))) : undefined;
}

/**
 * Recomputes the request's SigV4 signature with AWS's signer, over exactly the headers it says
 * it signed and the body's real SHA-256, and compares it with the one sent.
 */
export async function verifySigV4(headers: Record<string, string>, request: ArrivedRequest, credentials: { accessKeyId: string; secretAccessKey: string; region: string }): Promise<ErrorReply | undefined> {
  const auth = AUTHORIZATION.exec(headers["authorization"] ?? "");
  if (!auth) return reply(403, "MissingAuthenticationTokenException", "Missing Authentication Token");
  const [, keyId, , region, service, signedList] = auth;
  if (keyId !== credentials.accessKeyId) return reply(403, "UnrecognizedClientException", "The security token included in the request is invalid.");
  if (service !== "bedrock" || region !== credentials.region) return reply(403, "InvalidSignatureException", `Credential should be scoped to a valid region and to service 'bedrock'.`);
  const date = amzDate(headers["x-amz-date"]);
  if (!date || Math.abs(date.getTime() - Date.now()) > MAX_SKEW_MS) return reply(403, "InvalidSignatureException", "Signature expired or X-Amz-Date missing.");
  const bodyHash = createHash("sha256").update(request.body).digest("hex");
  if (headers["x-amz-content-sha256"] !== undefined && headers["x-amz-content-sha256"] !== bodyHash) return reply(400, "InvalidSignatureException", "The provided 'x-amz-content-sha256' header does not match what was computed.");
  const signed = (signedList ?? "").split(";");
  if (!signed.includes("host")) return reply(403, "InvalidSignatureException", "'Host' must be a signed header.");
  const signedHeaders: Record<string, string> = {};
  for (const name of signed) {
    const value = headers[name];
    if (value === undefined) return reply(403, "InvalidSignatureException", `Signed header '${name}' is missing from the request.`);
    signedHeaders[name] = value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(request.search)) query[name] = value;
  const [hostname = "", port] = request.host.split(":");
  const signer = new SignatureV4({ service: "bedrock", region: credentials.region, credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey }, sha256: Sha256, uriEscapePath: true });
  const expected = await signer.sign(
    { method: request.method, protocol: "http:", hostname, ...(port ? { port: Number(port) } : {}), path: request.rawPath, query, headers: signedHeaders, body: request.body },
    { signingDate: date, signableHeaders: new Set(signed), unsignableHeaders: new Set(Object.keys(headers).filter((h) => !signed.includes(h))) },
  );
  const expectedAuth = expected.headers["authorization"] ?? expected.headers["Authorization"];
  if (expectedAuth !== headers["authorization"]) {
    return reply(403, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");
  }
  return undefined;
}

/** One event-stream frame as Bedrock writes it: `:event-type`, `:content-type`, `:message-type` headers, JSON payload with a `p` padding field. */
export function eventFrame(eventType: string, payload: JsonObject): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify({ ...payload, p: randomId("", 8) }));
  return codec.encode({ headers: { ":event-type": { type: "string", value: eventType }, ":content-type": { type: "string", value: "application/json" }, ":message-type": { type: "string", value: "event" } }, body });
}

export function exceptionFrame(exceptionType: string, message: string): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify({ message }));
  return codec.encode({ headers: { ":exception-type": { type: "string", value: exceptionType }, ":content-type": { type: "string", value: "application/json" }, ":message-type": { type: "string", value: "exception" } }, body });
}

/** InvokeModelWithResponseStream's frame: the model's own event as base64 `bytes` of a `chunk`. */
const chunkFrame = (event: JsonObject): Uint8Array => eventFrame("chunk", { bytes: Buffer.from(JSON.stringify(event)).toString("base64") });

/** Bedrock's invocation metrics: the same counts as Anthropic's, cache writes as one total. */
function invocationMetrics(u: NeutralUsage): JsonObject {
  return {
    inputTokenCount: u.input,
    outputTokenCount: u.output,
    invocationLatency: 812,
    firstByteLatency: 301,
    ...(u.cacheRead > 0 ? { cacheReadInputTokenCount: u.cacheRead } : {}),
    ...(u.cacheWrite5m + u.cacheWrite1h > 0 ? { cacheWriteInputTokenCount: u.cacheWrite5m + u.cacheWrite1h } : {}),
  };
}

/** Bedrock names the Claude model by its Anthropic id in the answer (`claude-sonnet-4-5-20250929`). */
function anthropicModelOf(modelId: string): string {
  return modelId.replace(/^([a-z-]+\.)?anthropic\./, "").replace(/-v\d+(:\d+)?$/, "");
}

function validateInvokeBody(ctx: RequestContext): string | undefined {
  if (ctx.body["anthropic_version"] !== "bedrock-2023-05-31") return "Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again.";
  for (const extraneous of ["model", "stream"]) if (ctx.body[extraneous] !== undefined) return `Malformed input request: #: extraneous key [${extraneous}] is not permitted, please reformat your input and try again.`;
  if (typeof ctx.body["max_tokens"] !== "number") return "Malformed input request: #: required key [max_tokens] not found, please reformat your input and try again.";
  if (!Array.isArray(ctx.body["messages"])) return "Malformed input request: #: required key [messages] not found, please reformat your input and try again.";
  return undefined;
}

async function invoke(ctx: RequestContext, stream: boolean): Promise<void> {
  const problem = validateInvokeBody(ctx);
  if (problem) return ctx.reject(problem);
  const { behaviour, responder } = ctx;
  const modelId = ctx.params[0] ?? "";
  const model = behaviour.model ?? anthropicModelOf(modelId);
  const usage = resolveUsage(behaviour.usage);
  const text = answerText(behaviour);
  const id = randomId("msg_bdrk_01");
  const amznHeaders = { "x-amzn-requestid": requestId() };
  if (!stream) {
    await responder.json(
      200,
      { id, type: "message", role: "assistant", model, content: [{ type: "text", text }], stop_reason: "end_turn", stop_sequence: null, usage: anthropicUsage(usage) },
      {
        ...amznHeaders,
        "x-amzn-bedrock-invocation-latency": "812",
        "x-amzn-bedrock-input-token-count": String(usage.input),
        "x-amzn-bedrock-output-token-count": String(usage.output),
        "x-amzn-bedrock-cache-read-input-token-count": String(usage.cacheRead),
        "x-amzn-bedrock-cache-write-input-token-count": String(usage.cacheWrite5m + usage.cacheWrite1h),
      },
    );
    return;
  }
  const plan: StreamPlan = {
    opening: [
      chunkFrame({ type: "message_start", message: { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: anthropicStartUsage(usage) } }),
      chunkFrame({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
    ],
    delta: (piece) => [chunkFrame({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: piece } })],
    closing: () => [
      chunkFrame({ type: "content_block_stop", index: 0 }),
      chunkFrame({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: anthropicDeltaUsage(usage) }),
      chunkFrame({ type: "message_stop", "amazon-bedrock-invocationMetrics": invocationMetrics(usage) }),
    ],
    errorEvents: (error: BehaviourError): WireEvent[] => [exceptionFrame(error.type, error.message)],
  };
  await responder.head(200, { "content-type": "application/vnd.amazon.eventstream", "x-amzn-bedrock-content-type": "application/json", ...amznHeaders });
  const pieces = behaviour.endless ? endlessPieces() : textPieces(text, behaviour.chunks);
  await runStream(responder, plan, pieces, behaviour, midStreamError);
}

/** Converse's TokenUsage: for Claude, `inputTokens` leaves the cache out; totalTokens adds everything up. */
function converseUsage(u: NeutralUsage): JsonObject {
  const cacheWrite = u.cacheWrite5m + u.cacheWrite1h;
  return {
    inputTokens: u.input,
    outputTokens: u.output,
    totalTokens: u.input + u.output + u.cacheRead + cacheWrite,
    ...(u.cacheRead > 0 ? { cacheReadInputTokens: u.cacheRead } : {}),
    ...(cacheWrite > 0 ? { cacheWriteInputTokens: cacheWrite } : {}),
  };
}

async function converse(ctx: RequestContext, stream: boolean): Promise<void> {
  if (!Array.isArray(ctx.body["messages"])) return ctx.reject("The provided request is not valid: messages is required.");
  if (ctx.body["modelId"] !== undefined) return ctx.reject("The provided request is not valid: modelId is a path parameter.");
  const { behaviour, responder } = ctx;
  const usage = resolveUsage(behaviour.usage);
  const text = answerText(behaviour);
  const amznHeaders = { "x-amzn-requestid": requestId() };
  if (!stream) {
    await responder.json(200, { output: { message: { role: "assistant", content: [{ text }] } }, stopReason: "end_turn", usage: converseUsage(usage), metrics: { latencyMs: 812 } }, amznHeaders);
    return;
  }
  const plan: StreamPlan = {
    opening: [eventFrame("messageStart", { role: "assistant" })],
    delta: (piece) => [eventFrame("contentBlockDelta", { contentBlockIndex: 0, delta: { text: piece } })],
    closing: () => [eventFrame("contentBlockStop", { contentBlockIndex: 0 }), eventFrame("messageStop", { stopReason: "end_turn" }), eventFrame("metadata", { usage: converseUsage(usage), metrics: { latencyMs: 812 } })],
    errorEvents: (error: BehaviourError): WireEvent[] => [exceptionFrame(error.type, error.message)],
  };
  await responder.head(200, { "content-type": "application/vnd.amazon.eventstream", ...amznHeaders });
  const pieces = behaviour.endless ? endlessPieces() : textPieces(text, behaviour.chunks);
  await runStream(responder, plan, pieces, behaviour, midStreamError);
}

/** CountTokens (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_CountTokens.html): `input.invokeModel.body` (a JSON string) or `input.converse`. */
async function countTokens(ctx: RequestContext): Promise<void> {
  const input = ctx.body["input"] as JsonObject | undefined;
  if (!input || (input["invokeModel"] === undefined && input["converse"] === undefined)) return ctx.reject("The provided request is not valid: input must name invokeModel or converse.");
  const tokens = ctx.behaviour.usage?.input ?? Math.max(1, Math.ceil(JSON.stringify(input).length / 4));
  await ctx.responder.json(200, { inputTokens: tokens }, { "x-amzn-requestid": requestId() });
}

/** The model id is one path segment; the SDKs send its ":" as %3A (the fake routes on the decoded path). */
const MODEL = "([^/]+)";

export function createBedrockApi(credentials: { accessKeyId: string; region: string }): ProviderApi {
  return {
    name: "bedrock",
    routes: [
      { method: "POST", pattern: new RegExp(`^/model/${MODEL}/invoke$`), handle: (ctx) => invoke(ctx, false) },
      { method: "POST", pattern: new RegExp(`^/model/${MODEL}/invoke-with-response-stream$`), handle: (ctx) => invoke(ctx, true) },
      { method: "POST", pattern: new RegExp(`^/model/${MODEL}/converse$`), handle: (ctx) => converse(ctx, false) },
      { method: "POST", pattern: new RegExp(`^/model/${MODEL}/converse-stream$`), handle: (ctx) => converse(ctx, true) },
      { method: "POST", pattern: new RegExp(`^/model/${MODEL}/count-tokens$`), handle: countTokens },
    ],
    authenticate: (headers, _query, secretAccessKey, request) => verifySigV4(headers, request, { ...credentials, secretAccessKey }),
    errorReply(status, error) {
      const type = error?.type ?? typeByStatus[status ?? 500] ?? "InternalServerException";
      return reply(status ?? statusByType[type] ?? 500, type, error?.message ?? defaultMessages[type] ?? "Error");
    },
    notFound: (_method, _path) => reply(404, "UnknownOperationException", "Unknown operation"),
    invalidRequest: (message) => reply(400, "ValidationException", message),
  };
}
