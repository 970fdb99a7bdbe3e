import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { anthropicApi } from "./anthropic.ts";
import { createAzureApi } from "./azure.ts";
import { createBedrockApi, FAKE_AWS_ACCESS_KEY_ID, FAKE_AWS_REGION } from "./bedrock.ts";
import { createVertexApi, createVertexState, FAKE_GCP_PROJECT, type VertexFakeState } from "./vertex.ts";
import { geminiApi } from "./gemini.ts";
import { groqApi } from "./groq.ts";
import { FakeObjectStore } from "./objects.ts";
import { attachResponsesWebSocket } from "./openai-responses-ws.ts";
import { openAiApi } from "./openai.ts";
import { Responder, StreamStopped } from "./responder.ts";
import type { ErrorReply, JsonObject, ProviderApi, RequestContext } from "./route.ts";
import { resolveUsage } from "./usage.ts";
import type { Behaviour, FakeUpstream, FakeUpstreamOptions, ProviderKeys, RecordedRequest } from "./types.ts";

export const defaultKeys: ProviderKeys = {
  anthropic: "fake-anthropic-key",
  openai: "fake-openai-key",
  google: "fake-google-key",
  groq: "gsk_fake-groq-key",
  bedrock: "fakeAwsSecretAccessKey/0123456789abcdefGHIJKLMN",
  vertex: "",
  azure: "f4ke0a2ure0key00000000000000c0de",
};

/** The cloud fakes of one server: they keep state (Vertex's issued tokens) or depend on its keys. */
interface CloudApis {
  bedrock: ProviderApi;
  vertex: ProviderApi;
  azure: ProviderApi;
}

/** Which fake provider a path belongs to; /v1/models and /v1/files are shared by Anthropic and OpenAI. */
function providerFor(path: string, headers: Record<string, string>, cloud: CloudApis): ProviderApi {
  // Bedrock's runtime API lives under /model/<id>/…; Vertex AI under /v1/projects/…, its tokens at /token.
  if (path.startsWith("/model/")) return cloud.bedrock;
  if (path === "/token" || /^\/v1(beta1)?\/projects\//.test(path)) return cloud.vertex;
  // Google serves v1beta, v1 and v1alpha; its key header tells a /v1/models call apart from OpenAI's.
  if (path.startsWith("/v1beta/") || path.startsWith("/v1alpha/") || headers["x-goog-api-key"] !== undefined) return geminiApi;
  if (path.startsWith("/v1/messages")) return anthropicApi;
  // Azure OpenAI serves /openai/deployments/… and /openai/v1/… with its key in api-key; Groq
  // serves its OpenAI-compatible API under /openai/v1 with a bearer key.
  if (path.startsWith("/openai/deployments/") || (path.startsWith("/openai/") && (headers["api-key"] !== undefined || headers["authorization"] === undefined))) return cloud.azure;
  if (path.startsWith("/openai/")) return groqApi;
  if ((path === "/v1/models" || path.startsWith("/v1/files")) && anthropicApi.claims?.(headers)) return anthropicApi;
  return openAiApi;
}

/**
 * The path as the real servers route on it: dot segments resolved (WHATWG URL), then every
 * escape decoded, %2F included, the way uvicorn (`unquote`), gin (UseRawPath off) and Hono
 * (`decodeURI` per segment) read it. A gateway that classifies the raw path and forwards it
 * is walked around here exactly as in production.
 */
function routedPath(pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch (error) {
    if (error instanceof URIError) return pathname;
    throw error;
  }
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseJsonObject(text: string): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** Fails at enqueue time, in the test that made the mistake, rather than as a 500 later. */
function validateBehaviour(behaviour: Behaviour): Behaviour {
  resolveUsage(behaviour.usage);
  for (const key of ["headersDelayMs", "chunkDelayMs", "chunks", "failAfterEvents", "errorEventAfter"] as const) {
    const value = behaviour[key];
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) throw new Error(`fake-upstream: behaviour.${key} must be a non-negative integer, got ${String(value)}`);
  }
  const cut = behaviour.cutInsideEvent;
  if (cut && (!Number.isInteger(cut.afterEvents) || cut.afterEvents < 0 || !Number.isInteger(cut.bytes) || cut.bytes < 1)) {
    throw new Error(`fake-upstream: behaviour.cutInsideEvent needs afterEvents >= 0 and bytes >= 1, got ${JSON.stringify(cut)}`);
  }
  if (behaviour.status !== undefined && (!Number.isInteger(behaviour.status) || behaviour.status < 100 || behaviour.status > 599)) {
    throw new Error(`fake-upstream: behaviour.status must be an HTTP status, got ${String(behaviour.status)}`);
  }
  return behaviour;
}

/** A behaviour is an up-front error when it names an error status, or an error not meant for mid-stream. */
const isUpFrontError = (b: Behaviour): boolean => (b.status !== undefined && b.status >= 400) || (b.error !== undefined && b.errorEventAfter === undefined);

export async function startFakeUpstream(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const keys: ProviderKeys = { ...defaultKeys, ...options.keys };
  const serverDelayMs = options.delayMs ?? 0;
  const requests: RecordedRequest[] = [];
  const queue: Behaviour[] = [];
  let defaultBehaviour: Behaviour = {};
  let aborted = 0;
  const objects = new FakeObjectStore();
  const aws = { accessKeyId: FAKE_AWS_ACCESS_KEY_ID, secretAccessKey: keys.bedrock, region: FAKE_AWS_REGION };
  // Vertex's API is made once the server knows its URL (the key's token_uri points at it); until then every Vertex path is a 404.
  const notYet: ProviderApi = { ...anthropicApi, name: "vertex", routes: [] };
  const cloud: CloudApis = { bedrock: createBedrockApi(aws), vertex: notYet, azure: createAzureApi() };
  // Tests waiting for a count: checked whenever a request is recorded or a response aborted.
  const waiters: Array<{ ready: () => boolean; resolve: () => void }> = [];
  const settleWaiters = (): void => {
    for (const waiter of waiters.slice()) {
      if (!waiter.ready()) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  const when = (ready: () => boolean): Promise<void> =>
    ready()
      ? Promise.resolve()
      : new Promise((resolve) => {
          waiters.push({ ready, resolve });
        });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = Date.now();
    const url = new URL(req.url ?? "/", "http://fake-upstream");
    const path = routedPath(url.pathname);
    const headers = flattenHeaders(req);
    const bodyBytes = await readBody(req);
    const bodyText = bodyBytes.toString("utf8");
    const method = req.method ?? "GET";
    if (options.record !== false) requests.push({ method, path, rawPath: (req.url ?? "/").split("?")[0] ?? "/", search: url.search, headers, bodyText, receivedAt });
    settleWaiters();
    if (method === "TRACE") {
      // RFC 9110 §9.3.8: the origin echoes the request it received, headers included.
      const echoed = [`TRACE ${req.url ?? "/"} HTTP/1.1`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`), "", ""].join("\r\n");
      res.writeHead(200, { "content-type": "message/http" });
      res.end(echoed);
      return;
    }
    // An OAuth token exchange is the gateway's own call, not a model request a test queued a behaviour for.
    const behaviour = path === "/token" ? {} : (queue.shift() ?? defaultBehaviour);
    const responder = new Responder(res, behaviour, serverDelayMs);
    res.on("close", () => {
      if (!res.writableFinished && !responder.destroyedByFake) aborted++;
      settleWaiters();
    });

    const sendError = (error: ErrorReply): Promise<void> => responder.json(error.status, error.body, error.headers);
    const provider = providerFor(path, headers, cloud);
    responder.compactJson = provider === anthropicApi;
    const rawPath = (req.url ?? "/").split("?")[0] ?? "/";
    const denied = await provider.authenticate(headers, url.searchParams, keys[provider.name], { method, rawPath, search: url.search, host: headers["host"] ?? "", body: bodyBytes });
    if (denied) return sendError(denied);
    const route = provider.routes.find((candidate) => candidate.method === method && candidate.pattern.test(path));
    if (!route) return sendError(provider.notFound(method, path));

    let body: JsonObject = {};
    if (method === "POST" && !route.rawBody) {
      const parsed = parseJsonObject(bodyText);
      if (!parsed) return sendError(provider.invalidRequest("The request body is not valid JSON."));
      body = parsed;
    }
    if (isUpFrontError(behaviour)) return sendError(provider.errorReply(behaviour.status, behaviour.error));

    const ctx: RequestContext = {
      method,
      path,
      query: url.searchParams,
      headers,
      body,
      bodyText,
      objects,
      params: (route.pattern.exec(path) ?? []).slice(1),
      behaviour,
      responder,
      reject: (message) => sendError(provider.invalidRequest(message)),
    };
    await route.handle(ctx);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof StreamStopped) return; // the client left; nothing more to write
      // The connection died under us (client reset while the body was read): nobody to answer.
      if (req.destroyed || res.destroyed) return;
      // A bug in the fake itself: make it loud in the test output and fail the request visibly.
      console.error("fake-upstream: handler failed", error);
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(`fake-upstream bug: ${error instanceof Error ? error.message : String(error)}`);
      } else {
        res.destroy();
      }
    });
  });
  const responsesSocket = attachResponsesWebSocket(server, {
    key: keys.openai,
    nextBehaviour: () => queue.shift() ?? defaultBehaviour,
    record: (request) => {
      if (options.record !== false) requests.push(request);
      settleWaiters();
    },
  });
  // Benchmarks reuse connections heavily; keep them open longer than any client's idle timeout.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = options.host ?? "127.0.0.1";
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const vertexState: VertexFakeState = await createVertexState(`http://${urlHost}:${address.port}/token`);
  cloud.vertex = createVertexApi(vertexState);

  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    requests,
    get aborted() {
      return aborted;
    },
    whenRequests: (count) => when(() => requests.length >= count),
    whenAborted: (count) => when(() => aborted >= count),
    keys,
    aws,
    vertex: {
      project: FAKE_GCP_PROJECT,
      serviceAccountKey: vertexState.serviceAccountKey,
      get exchanges() {
        return vertexState.exchanges;
      },
      expireTokens() {
        for (const token of vertexState.tokens.keys()) vertexState.tokens.set(token, 0);
      },
    },
    objects,
    enqueue(behaviour) {
      queue.push(validateBehaviour(behaviour));
    },
    setDefault(behaviour) {
      defaultBehaviour = validateBehaviour(behaviour);
    },
    reset() {
      requests.length = 0;
      queue.length = 0;
      defaultBehaviour = {};
      aborted = 0;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        responsesSocket.close();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
