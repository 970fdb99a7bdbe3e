import type { SecretSource } from "../core/deps.ts";
import type { Logger } from "../core/logger.ts";
import { GatewayError } from "../core/errors.ts";
import type { UpstreamProviderConfig } from "../config/index.ts";
import { AI_GATEWAY_HEADER_PREFIX, aiGatewayBase, aiGatewayPath, type CloudAccount, type ProviderDescriptor } from "../providers/index.ts";
import type { ChunkTransform, UpstreamRequest } from "./transport.ts";
import type { UpstreamSigner } from "./upstream-auth.ts";

/**
 * A route through Cloudflare AI Gateway (`providers.<id>.via.cloudflareAiGateway`): where its
 * requests go, the headers that authenticate Gatehouse to the gateway and tag the caller, and
 * whether the provider key is Gatehouse's to send (BYOK off) or AI Gateway's to add (BYOK on).
 */
export interface AiGatewayUpstream {
  /** `{baseUrl}/{accountId}/{gatewayId}/{slug}[/{prefix}]`. */
  base: string;
  /** The provider path as it continues after the slug. */
  forwardPath(path: string): string;
  /** `cf-aig-authorization` and `cf-aig-metadata` for one caller (its anonymous id, never its email). */
  headers(callerId: string): Record<string, string>;
  /** AI Gateway adds its stored provider key: Gatehouse sends none. */
  byok: boolean;
  /** Every secret value this route reads, for redaction: the gateway token. */
  secretValues: readonly string[];
}

/**
 * The route's AI Gateway upstream, or undefined when it goes straight to the provider. The
 * token is read per request (a reload or a rotated secret applies at once); a missing one is
 * not_configured here, before anything is sent.
 */
export function aiGatewayUpstream(provider: ProviderDescriptor, config: UpstreamProviderConfig, secrets: SecretSource): AiGatewayUpstream | undefined {
  const via = config.via?.cloudflareAiGateway;
  if (!via) return undefined;
  const route = provider.aiGateway;
  // The config refuses this at load; a descriptor without the fact must still never forward.
  if (!route) throw new GatewayError("not_configured", `Provider ${provider.id} cannot go via Cloudflare AI Gateway: Cloudflare documents no AI Gateway endpoint for it. Remove providers.${provider.id}.via from gatehouse.yaml.`);
  const token = secrets.get(via.tokenEnv);
  // The env var's name is not a secret; an administrator needs it to fix this.
  if (!token) throw new GatewayError("not_configured", `No Cloudflare AI Gateway token for provider ${provider.id}: set ${via.tokenEnv} in the gateway's environment or secrets file (an AI Gateway token with Run permission).`);
  const account: CloudAccount = { region: config.region, project: config.project, location: config.location, resource: config.resource };
  const authorization = `Bearer ${token}`;
  return {
    base: aiGatewayBase(route, via.baseUrl, via.accountId, via.gatewayId, account),
    forwardPath: (path) => aiGatewayPath(route, path, account),
    headers: (callerId) => ({ "cf-aig-authorization": authorization, "cf-aig-metadata": JSON.stringify({ userId: callerId }) }),
    byok: via.byok,
    secretValues: [token],
  };
}

/**
 * A cloud route's signer through AI Gateway: Cloudflare's Bedrock page signs the request for the
 * provider's own host (`bedrock-runtime.{region}.amazonaws.com/model/…`) and then sends it to the
 * gateway's URL, which forwards the signed request to that host. The cf-aig-* headers are left
 * out of the signature (AI Gateway removes them before the provider checks it), and a `host`
 * header is not sent: the connection's host is the gateway's.
 */
export function signedForProviderHost(signer: UpstreamSigner, gatewayBase: string, providerBase: string): UpstreamSigner {
  return async (request) => {
    if (!request.url.startsWith(gatewayBase)) throw new GatewayError("internal", "An AI Gateway request's URL does not start with its gateway base.");
    const forProvider: Record<string, string> = {};
    const forGateway: Record<string, string> = {};
    for (const name in request.headers) {
      if (name.startsWith(AI_GATEWAY_HEADER_PREFIX)) forGateway[name] = request.headers[name] as string;
      else forProvider[name] = request.headers[name] as string;
    }
    const provider = trimSlash(providerBase);
    const original: UpstreamRequest = { ...request, url: `${provider}${request.url.slice(gatewayBase.length)}`, headers: forProvider };
    const signed = await signer(original);
    // The signer may re-encode the path it signed (SigV4's `v1:0` as `v1%3A0`): that spelling is the one sent.
    if (!signed.url.startsWith(provider)) throw new GatewayError("internal", "A signed request's URL does not start with the provider's base.");
    const headers: Record<string, string> = {};
    for (const name in signed.headers) if (name !== "host") headers[name] = signed.headers[name] as string;
    for (const name in forGateway) headers[name] = forGateway[name] as string;
    return { ...signed, url: `${gatewayBase}${signed.url.slice(provider.length)}`, headers };
  };
}

function trimSlash(base: string): string {
  return base.endsWith("/") ? base.slice(0, -1) : base;
}

/** Longest error body read to tell AI Gateway's own error from the provider's: larger ones pass unread. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * AI Gateway's own error bodies: the Cloudflare API envelope
 * (`{"success":false,"result":[],"messages":[],"error":[{"code":2009,"message":"Unauthorized"}]}`)
 * and the newer `{"name":"AiGatewayError","internalCode":2009,…}`. Anything else is the
 * provider's answer, passed through as it came.
 */
export function aiGatewayErrorOf(body: unknown): { code: number | undefined; message: string | undefined } | undefined {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return undefined;
  const record = body as Record<string, unknown>;
  if (record["name"] === "AiGatewayError") {
    const code = record["internalCode"];
    const message = record["message"];
    return { code: typeof code === "number" ? code : undefined, message: typeof message === "string" ? message : undefined };
  }
  if (record["success"] !== false) return undefined;
  const errors = Array.isArray(record["error"]) ? record["error"] : Array.isArray(record["errors"]) ? record["errors"] : undefined;
  const first: unknown = errors?.[0];
  if (first === null || typeof first !== "object") return undefined;
  const code = (first as Record<string, unknown>)["code"];
  const message = (first as Record<string, unknown>)["message"];
  return { code: typeof code === "number" ? code : undefined, message: typeof message === "string" ? message : undefined };
}

/** What the client is told about one of AI Gateway's own errors: never the token, always how to fix it. */
export function aiGatewayGatewayError(status: number, code: number | undefined, message: string | undefined): GatewayError {
  const said = `Cloudflare AI Gateway answered ${status}${code === undefined ? "" : ` (code ${code})`}${message ? `: ${message.slice(0, 200)}` : ""}.`;
  if (status === 401 || status === 403)
    return new GatewayError(
      "upstream_unavailable",
      `${said} It refused this Gatehouse gateway's AI Gateway token, not your credentials: an administrator must set a valid AI Gateway token (Run permission) in the secret named by via.cloudflareAiGateway.tokenEnv.`,
    );
  if (status === 429) return new GatewayError("rate_limited", `${said} The AI Gateway's own rate limit was reached; retry later.`);
  return new GatewayError("upstream_unavailable", `${said} The request did not reach the provider; an administrator can check the gateway in the Cloudflare dashboard (AI > AI Gateway).`);
}

/**
 * For an AI Gateway route: an error answer is held (up to 64 KiB) and, when it is AI Gateway's
 * own error, replaced by the provider's error shape; the provider's own errors pass unchanged.
 */
export function aiGatewayErrorTransform(provider: ProviderDescriptor, requestId: string, logger: Logger): (status: number) => ChunkTransform {
  return (status) => {
    const held: Uint8Array[] = [];
    let size = 0;
    let passing = false;
    return {
      transform(chunk) {
        if (passing) return chunk;
        held.push(chunk);
        size += chunk.byteLength;
        if (size <= MAX_ERROR_BODY_BYTES) return EMPTY;
        passing = true;
        return concat(held.splice(0));
      },
      flush() {
        if (passing) return EMPTY;
        const bytes = concat(held.splice(0));
        let parsed: unknown;
        try {
          parsed = JSON.parse(new TextDecoder().decode(bytes));
        } catch (err) {
          // Not JSON: not AI Gateway's envelope, so the provider's (or a proxy's) text passes as it came.
          if (err instanceof SyntaxError) return bytes;
          throw err;
        }
        const own = aiGatewayErrorOf(parsed);
        if (!own) return bytes;
        logger.warn({ requestId, provider: provider.id, status, aiGatewayCode: own.code }, "cloudflare ai gateway refused the request");
        return encoder.encode(JSON.stringify(provider.errorBody(aiGatewayGatewayError(status, own.code, own.message), requestId)));
      },
    };
  };
}

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  let length = 0;
  for (const chunk of chunks) length += chunk.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
