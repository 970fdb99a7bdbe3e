import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { createHash, randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";

/**
 * A fake Cloudflare AI Gateway in front of the fake providers (test/fake-upstream/server.ts),
 * speaking what Cloudflare documents for its provider-specific endpoints
 * (developers.cloudflare.com/ai-gateway/usage/providers/):
 *
 * - `POST /v1/{account_id}/{gateway_id}/{provider}/…` — an unknown account, gateway or provider
 *   slug is a 404 in the gateway's envelope;
 * - an authenticated gateway: `cf-aig-authorization: Bearer <token>` must be exactly the
 *   gateway's token, else 401 `{"success":false,"result":[],"messages":[],"error":[{"code":2009,"message":"Unauthorized"}]}`
 *   (the body clients have seen live; its `code` 2009 is what Cloudflare's changelog names);
 * - `cf-aig-metadata`: a JSON object of at most five entries kept (the rest dropped), values
 *   strings, numbers or booleans; anything else is refused here (400) so a test sees it;
 * - BYOK ("stored keys"): for a slug whose key the gateway stores, the request must carry no
 *   provider credential (this fake is stricter than Cloudflare, to prove Gatehouse sent none)
 *   and the stored key is added; for other slugs the provider credential passes to the provider,
 *   which checks it exactly (the fake providers' 401s);
 * - every `cf-aig-*` header is removed before the provider sees the request;
 * - caching (when on): the key hashes provider, path, body and provider credential (the
 *   caching page's default key); `cf-aig-skip-cache: true` bypasses it, `cf-aig-cache-ttl`
 *   (seconds) bounds it; answers carry `cf-aig-cache-status: HIT|MISS`;
 * - every answer carries `cf-aig-log-id`;
 * - `azure-openai/{resource}/{deployment}/{endpoint}?api-version=…` (Cloudflare's Azure page):
 *   the resource must be the one this fake fronts (`azureResource`), else 404 in the envelope;
 *   the request goes to the Azure fake's `/openai/deployments/{deployment}/{endpoint}` with the
 *   query as sent, the key in `api-key`.
 *
 * The rate-limit body (429) uses the same envelope with code 2003 "Rate limited": Cloudflare
 * documents the 429, not its body, so only the envelope and status are relied on.
 */
export interface FakeAiGatewayOptions {
  /** The fake providers' server, e.g. "http://127.0.0.1:PORT". */
  providersUrl: string;
  accountId: string;
  gatewayId: string;
  token: string;
  /** Provider keys the gateway stores (BYOK), by AI Gateway slug, with the header each goes in. */
  storedKeys?: Partial<Record<AiGatewaySlug, string>>;
  /** Cache successful answers (the dashboard's "Cache Responses"). */
  cache?: boolean;
  /** The Azure OpenAI resource behind the `azure-openai` slug; a request naming another is a 404. */
  azureResource?: string;
}

export type AiGatewaySlug = "anthropic" | "openai" | "google-ai-studio" | "groq" | "workers-ai" | "aws-bedrock" | "google-vertex-ai" | "azure-openai";

export interface AiGatewayRequest {
  slug: string;
  /** The path after the slug. */
  path: string;
  /** Headers as the gateway received them (lower-case names). */
  headers: Record<string, string>;
  /** The parsed cf-aig-metadata entries kept (at most five), or undefined when none was sent. */
  metadata: Record<string, string | number | boolean> | undefined;
  /** What the gateway answered with: `cache` for a cache hit, `provider` when forwarded, `gateway` for its own error. */
  answeredBy: "cache" | "provider" | "gateway";
  /** Headers the provider received (after the gateway removed cf-aig-* and added a stored key); undefined when not forwarded. */
  forwardedHeaders: Record<string, string> | undefined;
}

export interface FakeAiGateway {
  readonly url: string;
  /** The base Gatehouse is configured with (`baseUrl`): `${url}/v1`. */
  readonly baseUrl: string;
  readonly requests: AiGatewayRequest[];
  /** The gateway answers the next request itself with this error (FIFO), before anything else. */
  enqueueGatewayError(error: { status: number; code: number; message: string }): void;
  reset(): void;
  close(): Promise<void>;
}

/** Where each slug's requests go on the fake providers' server: the prefix AI Gateway puts before the path. */
const PROVIDER_PREFIX: Record<AiGatewaySlug, string> = {
  anthropic: "",
  openai: "/v1",
  "google-ai-studio": "",
  groq: "/openai/v1",
  "workers-ai": "",
  // aws-bedrock/bedrock-runtime/{region}/… is rewritten in providerTarget; Vertex's path is the provider's own.
  "aws-bedrock": "",
  "google-vertex-ai": "",
  // azure-openai/{resource}/{deployment}/… is rewritten in providerTarget.
  "azure-openai": "",
};

/** The header each provider reads its key from, for a stored key (BYOK). */
const KEY_HEADER: Record<AiGatewaySlug, (key: string) => [string, string]> = {
  anthropic: (key) => ["x-api-key", key],
  openai: (key) => ["authorization", `Bearer ${key}`],
  "google-ai-studio": (key) => ["x-goog-api-key", key],
  groq: (key) => ["authorization", `Bearer ${key}`],
  "workers-ai": (key) => ["authorization", `Bearer ${key}`],
  "aws-bedrock": (key) => ["authorization", key],
  "google-vertex-ai": (key) => ["authorization", `Bearer ${key}`],
  "azure-openai": (key) => ["api-key", key],
};

const PROVIDER_CREDENTIAL_HEADERS = ["authorization", "x-api-key", "x-goog-api-key", "api-key"];

interface Cached {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  expiresAt: number;
}

function isSlug(value: string): value is AiGatewaySlug {
  return Object.prototype.hasOwnProperty.call(PROVIDER_PREFIX, value);
}

export async function startFakeAiGateway(options: FakeAiGatewayOptions): Promise<FakeAiGateway> {
  const providers = new URL(options.providersUrl);
  const requests: AiGatewayRequest[] = [];
  const queuedErrors: Array<{ status: number; code: number; message: string }> = [];
  const cache = new Map<string, Cached>();

  const envelope = (res: ServerResponse, status: number, code: number, message: string) => {
    res.writeHead(status, { "content-type": "application/json", "cf-aig-log-id": randomUUID() });
    res.end(JSON.stringify({ success: false, result: [], messages: [], error: [{ code, message }] }));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readAll(req);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    const url = new URL(req.url ?? "/", "http://fake");
    const match = /^\/v1\/([^/]+)\/([^/]+)\/([^/]+)(\/.*)?$/.exec(url.pathname);
    const record: AiGatewayRequest = { slug: match?.[3] ?? "", path: match?.[4] ?? "", headers, metadata: undefined, answeredBy: "gateway", forwardedHeaders: undefined };
    requests.push(record);

    const queued = queuedErrors.shift();
    if (queued) return envelope(res, queued.status, queued.code, queued.message);
    if (!match || match[1] !== options.accountId || match[2] !== options.gatewayId) return envelope(res, 404, 2001, "Gateway not found");
    if (headers["cf-aig-authorization"] !== `Bearer ${options.token}`) return envelope(res, 401, 2009, "Unauthorized");
    const slug = record.slug;
    if (!isSlug(slug)) return envelope(res, 400, 2008, `Invalid provider: ${slug}`);

    const rawMetadata = headers["cf-aig-metadata"];
    if (rawMetadata !== undefined) {
      const parsed = parseMetadata(rawMetadata);
      if (parsed === undefined) return envelope(res, 400, 2010, "Invalid cf-aig-metadata: a JSON object of strings, numbers or booleans");
      record.metadata = parsed;
    }

    const forwarded: Record<string, string> = {};
    for (const name in headers) if (!name.startsWith("cf-aig-") && name !== "host" && name !== "content-length" && name !== "connection") forwarded[name] = headers[name] as string;
    const stored = options.storedKeys?.[slug];
    if (stored !== undefined) {
      const sent = PROVIDER_CREDENTIAL_HEADERS.filter((name) => headers[name] !== undefined);
      if (sent.length > 0) return envelope(res, 400, 2011, `This gateway stores the ${slug} key (BYOK); the request carried ${sent.join(", ")}`);
      const [name, value] = KEY_HEADER[slug](stored);
      forwarded[name] = value;
    }

    const target = providerTarget(slug, record.path, options.azureResource);
    if (target === "unknown-resource") return envelope(res, 404, 2001, `Unknown Azure OpenAI resource in ${record.path}`);
    if (!target) return envelope(res, 400, 2008, `Invalid ${slug} path: ${record.path}`);
    // Bedrock's request was signed for its own host: the gateway forwards it there.
    if (target.host) forwarded["host"] = target.host;
    const path = `${target.path}${url.search}`;
    const skip = headers["cf-aig-skip-cache"] === "true";
    const ttlSeconds = Number(headers["cf-aig-cache-ttl"] ?? "300");
    const credential = PROVIDER_CREDENTIAL_HEADERS.map((name) => forwarded[name] ?? "").join("|");
    const cacheKey = createHash("sha256").update(`${slug}\n${path}\n${credential}\n`).update(body).digest("hex");
    if (options.cache && !skip) {
      const hit = cache.get(cacheKey);
      if (hit && hit.expiresAt > Date.now()) {
        record.answeredBy = "cache";
        res.writeHead(hit.status, { ...hit.headers, "cf-aig-cache-status": "HIT", "cf-aig-log-id": randomUUID() });
        res.end(hit.body);
        return;
      }
    }

    record.answeredBy = "provider";
    record.forwardedHeaders = forwarded;
    forwarded["content-length"] = String(body.byteLength);
    await new Promise<void>((resolve, reject) => {
      const upstream = httpRequest({ host: providers.hostname, port: providers.port, method: req.method, path, headers: forwarded }, (answer) => {
        const answerHeaders: Record<string, string> = {};
        for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && name !== "connection" && name !== "transfer-encoding" && name !== "keep-alive") answerHeaders[name] = Array.isArray(value) ? value.join(", ") : value;
        const status = answer.statusCode ?? 502;
        res.writeHead(status, { ...answerHeaders, ...(options.cache ? { "cf-aig-cache-status": "MISS" } : {}), "cf-aig-log-id": randomUUID() });
        const chunks: Buffer[] = [];
        answer.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          res.write(chunk);
        });
        answer.once("end", () => {
          res.end();
          if (options.cache && !skip && status === 200) cache.set(cacheKey, { status, headers: answerHeaders, body: Buffer.concat(chunks), expiresAt: Date.now() + ttlSeconds * 1000 });
          resolve();
        });
        answer.once("error", reject);
      });
      upstream.once("error", reject);
      res.once("close", () => upstream.destroy());
      upstream.end(body);
    });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) envelope(res, 500, 2005, "Internal error");
      else res.destroy(err instanceof Error ? err : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    baseUrl: `${url}/v1`,
    requests,
    enqueueGatewayError: (error) => void queuedErrors.push(error),
    reset() {
      requests.length = 0;
      queuedErrors.length = 0;
      cache.clear();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/**
 * Where a slug's request goes at the fake providers: Bedrock's `bedrock-runtime/{region}/model/…`
 * becomes `/model/…` on `bedrock-runtime.{region}.amazonaws.com` (the host its SigV4 signature
 * was made for, as on Cloudflare's Bedrock page); the others put their base path in front.
 */
function providerTarget(slug: AiGatewaySlug, path: string, azureResource: string | undefined): { path: string; host?: string } | "unknown-resource" | undefined {
  if (slug === "azure-openai") {
    // One segment each for the resource and the deployment, then the endpoint: Azure's own path under the resource.
    const azure = /^\/([^/]+)\/([A-Za-z0-9][A-Za-z0-9._-]*)(\/[a-z/]+)$/.exec(path);
    if (!azure) return undefined;
    if (azure[1] !== azureResource) return "unknown-resource";
    return { path: `/openai/deployments/${azure[2] as string}${azure[3] as string}` };
  }
  if (slug !== "aws-bedrock") return { path: `${PROVIDER_PREFIX[slug]}${path}` };
  const m = /^\/bedrock-runtime\/([a-z0-9-]+)(\/.*)$/.exec(path);
  if (!m) return undefined;
  return { path: m[2] as string, host: `bedrock-runtime.${m[1] as string}.amazonaws.com` };
}

/** cf-aig-metadata as AI Gateway keeps it: the first five entries of a flat JSON object; undefined when it is not one. */
function parseMetadata(raw: string): Record<string, string | number | boolean> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const kept: Record<string, string | number | boolean> = {};
  for (const [key, entry] of Object.entries(value).slice(0, 5)) {
    if (typeof entry !== "string" && typeof entry !== "number" && typeof entry !== "boolean") return undefined;
    kept[key] = entry;
  }
  return kept;
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
  });
}
