import { exportPKCS8, generateKeyPair, jwtVerify, type CryptoKey } from "jose";
import { answerMessages } from "./anthropic.ts";
import { hexId, randomId } from "./content.ts";
import { countTokens, generateContent, streamGenerateContent } from "./gemini.ts";
import type { ErrorReply, ProviderApi, RequestContext } from "./route.ts";

/**
 * Google Vertex AI for the endpoints Gatehouse serves, and Google's OAuth token endpoint.
 * Claude under `publishers/anthropic` (https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude/use-claude):
 * `:rawPredict` / `:streamRawPredict` with Anthropic's Messages body, `anthropic_version:
 * vertex-2023-10-16` and no `model` (the path names it), answered in Anthropic's wire
 * format; Gemini under `publishers/google` in Gemini's. Every call needs `Authorization:
 * Bearer <access token>` this fake issued and that has not expired, for the service
 * account's own project. Tokens come from `POST /token` (RFC 7523 JWT bearer grant, as
 * https://developers.google.com/identity/protocols/oauth2/service-account#httprest): the
 * assertion's RS256 signature is verified with the service account's public key, its
 * issuer, audience (the token URI), scope and lifetime checked.
 */
export const FAKE_GCP_PROJECT = "gatehouse-fake-project";
export const FAKE_SERVICE_ACCOUNT_EMAIL = `gatehouse-gateway@${FAKE_GCP_PROJECT}.iam.gserviceaccount.com`;
const CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform";
const TOKEN_SECONDS = 3599;

const googleError = (code: number, message: string, status: string): ErrorReply => ({ status: code, body: { error: { code, message, status } } });
const oauthError = (error: string, description: string): ErrorReply => ({ status: 400, body: { error, error_description: description } });

const statusByCode: Record<number, string> = { 400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE" };
const codeByStatus: Record<string, number> = Object.fromEntries(Object.entries(statusByCode).map(([code, status]) => [status, Number(code)]));

export interface VertexFakeState {
  /** The service-account key file a gateway is given (its private key signs the assertions). */
  serviceAccountKey: Record<string, string>;
  publicKey: CryptoKey;
  /** Access tokens issued, with their expiry (epoch ms). */
  tokens: Map<string, number>;
  /** Assertions exchanged (how many times the gateway minted a token). */
  exchanges: number;
}

export async function createVertexState(tokenUri: string): Promise<VertexFakeState> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  return {
    serviceAccountKey: {
      type: "service_account",
      project_id: FAKE_GCP_PROJECT,
      private_key_id: hexId("", 20),
      private_key: await exportPKCS8(privateKey),
      client_email: FAKE_SERVICE_ACCOUNT_EMAIL,
      client_id: "10" + randomId("", 19).replace(/[^0-9]/g, "7"),
      auth_uri: "https://accounts.google.com/o/oauth2/auth",
      token_uri: tokenUri,
      auth_provider_x509_cert_url: "https://www.googleapis.com/oauth2/v1/certs",
      client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(FAKE_SERVICE_ACCOUNT_EMAIL)}`,
      universe_domain: "googleapis.com",
    },
    publicKey,
    tokens: new Map(),
    exchanges: 0,
  };
}

/** `POST /token`: the JWT bearer grant. */
async function exchangeToken(ctx: RequestContext, state: VertexFakeState): Promise<void> {
  if (!(ctx.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
    await ctx.responder.json(400, { error: "invalid_request", error_description: "Content-Type must be application/x-www-form-urlencoded" });
    return;
  }
  const form = new URLSearchParams(ctx.bodyText);
  if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") {
    const e = oauthError("unsupported_grant_type", "Invalid grant_type: ");
    await ctx.responder.json(e.status, e.body);
    return;
  }
  const assertion = form.get("assertion") ?? "";
  const tokenUri = state.serviceAccountKey["token_uri"] ?? "";
  try {
    const { payload, protectedHeader } = await jwtVerify(assertion, state.publicKey, { algorithms: ["RS256"], issuer: FAKE_SERVICE_ACCOUNT_EMAIL, audience: tokenUri });
    if (protectedHeader.kid !== undefined && protectedHeader.kid !== state.serviceAccountKey["private_key_id"]) throw new Error("unknown kid");
    if (typeof payload.scope !== "string" || !payload.scope.split(" ").includes(CLOUD_PLATFORM)) throw new Error("scope");
    if (payload.iat === undefined || payload.exp === undefined || payload.exp - payload.iat > 3600) throw new Error("lifetime");
  } catch (err) {
    const e = oauthError("invalid_grant", err instanceof Error && err.message === "scope" ? "Invalid OAuth scope or ID token audience provided." : "Invalid JWT Signature.");
    await ctx.responder.json(e.status, e.body);
    return;
  }
  state.exchanges++;
  const token = `ya29.${randomId("c.", 60)}`;
  state.tokens.set(token, Date.now() + TOKEN_SECONDS * 1000);
  await ctx.responder.json(200, { access_token: token, expires_in: TOKEN_SECONDS, token_type: "Bearer" }, { "cache-control": "no-cache, no-store, max-age=0, must-revalidate" });
}

/** The path's project must be the service account's: the gateway replaces what the client named. */
function wrongProject(ctx: RequestContext): Promise<void> | undefined {
  const project = ctx.params[0];
  if (project === FAKE_GCP_PROJECT) return undefined;
  const e = googleError(403, `Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/projects/${project ?? ""}/locations/${ctx.params[1] ?? ""}' (or it may not exist).`, "PERMISSION_DENIED");
  return ctx.responder.json(e.status, e.body);
}

async function rawPredict(ctx: RequestContext, stream: boolean): Promise<void> {
  const denied = wrongProject(ctx);
  if (denied) return denied;
  if (ctx.body["anthropic_version"] !== "vertex-2023-10-16") return ctx.reject("anthropic_version: Input should be 'vertex-2023-10-16'");
  if (ctx.body["model"] !== undefined) return ctx.reject("model: Extra inputs are not permitted");
  if (typeof ctx.body["max_tokens"] !== "number") return ctx.reject("max_tokens: Field required");
  if (!Array.isArray(ctx.body["messages"])) return ctx.reject("messages: Field required");
  await answerMessages(ctx, ctx.params[2] ?? "", stream || ctx.body["stream"] === true);
}

const gemini = (handler: (ctx: RequestContext) => Promise<void>) => (ctx: RequestContext) => wrongProject(ctx) ?? handler({ ...ctx, params: [ctx.params[2] ?? ""] });

const PREFIX = "^/v1(?:beta1)?/projects/([^/]+)/locations/([^/]+)/publishers";

export function createVertexApi(state: VertexFakeState): ProviderApi {
  return {
    name: "vertex",
    routes: [
      { method: "POST", pattern: /^\/token$/, handle: (ctx) => exchangeToken(ctx, state), rawBody: true },
      { method: "POST", pattern: new RegExp(`${PREFIX}/anthropic/models/([^/:]+):rawPredict$`), handle: (ctx) => rawPredict(ctx, false) },
      { method: "POST", pattern: new RegExp(`${PREFIX}/anthropic/models/([^/:]+):streamRawPredict$`), handle: (ctx) => rawPredict(ctx, true) },
      { method: "POST", pattern: new RegExp(`${PREFIX}/google/models/([^/:]+):generateContent$`), handle: gemini(generateContent) },
      { method: "POST", pattern: new RegExp(`${PREFIX}/google/models/([^/:]+):streamGenerateContent$`), handle: gemini(streamGenerateContent) },
      { method: "POST", pattern: new RegExp(`${PREFIX}/google/models/([^/:]+):countTokens$`), handle: gemini(countTokens) },
    ],
    authenticate(headers, _query, _key, request) {
      if (request.rawPath === "/token") return undefined;
      const match = /^Bearer (\S+)$/.exec(headers["authorization"] ?? "");
      const expiry = match?.[1] === undefined ? undefined : state.tokens.get(match[1]);
      if (expiry === undefined || expiry < Date.now()) {
        return googleError(
          401,
          "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
          "UNAUTHENTICATED",
        );
      }
      return undefined;
    },
    errorReply(status, error) {
      const name = error?.type ?? statusByCode[status ?? 500] ?? "INTERNAL";
      const code = status ?? codeByStatus[name] ?? 500;
      return googleError(code, error?.message ?? "Internal error encountered.", name);
    },
    notFound: (method, path) => googleError(404, `The requested URL ${path} was not found on this server (${method}).`, "NOT_FOUND"),
    invalidRequest: (message) => googleError(400, message, "INVALID_ARGUMENT"),
  };
}
