import type { Context, Hono } from "hono";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { isInitializeRequest, SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/sdk/types.js";
import type { AppEnv } from "../core/app.ts";
import type { Authenticator } from "../core/auth.ts";
import type { Caller } from "../core/caller.ts";
import { GatewayError } from "../core/errors.ts";
import { isLoopbackHostname } from "../core/host-guard.ts";
import { configuredPublicUrl, publicBaseUrl, type PublicUrlSettings } from "../core/public-url.ts";
import type { CodeExecutor, SandboxLimits } from "../sandbox/index.ts";
import type { PortalCatalog } from "./catalog.ts";
import { createPortalServer, type PortalMode } from "./portal-server.ts";
import { bearerChallenge, METADATA_PATH, protectedResourceMetadata } from "./protected-resource.ts";
import type { SessionStore } from "./sessions.ts";

export interface PortalHttpOptions {
  authenticator: Authenticator;
  /** One catalog for the module's life: a config reload updates its pool in place (as a diff). */
  catalog: { readonly current: PortalCatalog };
  sessions: SessionStore;
  executor: CodeExecutor | undefined;
  sandboxLimits: Partial<SandboxLimits>;
  /** GATEHOUSE_PUBLIC_URL and the auth mode: the portal's own origin comes from core/public-url.ts. */
  site: PublicUrlSettings;
  authorizationServers: readonly string[];
  scopes: readonly string[] | undefined;
  /** Browser origins allowed besides the gateway's own (DNS-rebinding protection). */
  allowedOrigins: readonly string[];
  maxBodyBytes: number;
}

/** The newest spec revision: stateless, no initialize. The SDK (1.x) does not speak it yet. */
const STATELESS_REVISION = "2026-07-28";

export function mountPortalRoutes(app: Hono<AppEnv>, options: PortalHttpOptions): void {
  const baseUrl = (c: Context<AppEnv>): string => publicBaseUrl(options.site, c.req.raw);

  const metadata = (c: Context<AppEnv>) => c.json(protectedResourceMetadata(baseUrl(c), options.authorizationServers, options.scopes));
  app.get(METADATA_PATH, metadata);
  app.get(`${METADATA_PATH}/mcp`, metadata);

  app.on(["GET", "POST", "DELETE"], "/mcp", async (c) => {
    options.sessions.sweep();
    const origin = c.req.header("origin");
    if (origin && !originAllowed(origin, configuredPublicUrl(options.site), new URL(c.req.url).origin, options.allowedOrigins)) {
      return rpcError(c, 403, -32000, `Origin ${origin} is not allowed.`);
    }

    let caller: Caller;
    try {
      caller = await options.authenticator.authenticate({ get: (name) => c.req.header(name) });
    } catch (err) {
      if (err instanceof GatewayError && err.code === "unauthenticated") {
        c.header("WWW-Authenticate", bearerChallenge(baseUrl(c), c.req.header("authorization") ? "invalid_token" : undefined));
        return c.json({ error: { code: err.code, message: err.message, requestId: c.get("requestId") } }, 401);
      }
      throw err;
    }

    const codemode = c.req.query("codemode");
    if (codemode !== undefined && codemode !== "search_and_execute") return rpcError(c, 400, -32600, `Unknown codemode "${codemode}"; the supported value is search_and_execute.`);
    const mode: PortalMode = codemode ? "codemode" : "catalogue";

    const version = c.req.header("mcp-protocol-version");
    if (version && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return unsupportedVersion(c, version);

    const sessionId = c.req.header("mcp-session-id");
    if (sessionId) {
      const session = options.sessions.get(sessionId);
      // Another caller's session id is answered exactly like an unknown one.
      if (!session || session.callerId !== caller.id) return rpcError(c, 404, -32001, "Session not found; initialize a new session.");
      if (session.mode !== mode) return rpcError(c, 400, -32600, "This session was opened with a different codemode setting.");
      return session.transport.handleRequest(c.req.raw);
    }

    if (c.req.method === "GET") return c.body(null, 405, { Allow: "POST" });
    if (c.req.method === "DELETE") return rpcError(c, 400, -32000, "Mcp-Session-Id header is required.");

    const text = await readBoundedText(c.req.raw, options.maxBodyBytes);
    if (text === undefined) return rpcError(c, 413, -32600, `Request body over ${options.maxBodyBytes} bytes; an MCP message must be smaller.`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      if (err instanceof SyntaxError) return rpcError(c, 400, -32700, "Parse error: the body is not valid JSON.");
      throw err;
    }
    const messages = Array.isArray(body) ? body : [body];
    if (messages.some((m) => typeof m === "object" && m !== null && (m as { method?: unknown }).method === "server/discover")) return unsupportedVersion(c, STATELESS_REVISION);
    if (!messages.some((m) => isInitializeRequest(m))) return rpcError(c, 400, -32000, "Mcp-Session-Id header is required (send initialize first).");

    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      maxRequestBodySize: options.maxBodyBytes,
      onsessioninitialized: (id) => {
        options.sessions.add({ id, callerId: caller.id, mode, server, transport, lastSeen: 0 });
      },
      onsessionclosed: (id) => {
        options.sessions.forget(id);
      },
    });
    const server = createPortalServer({
      caller,
      mode,
      catalog: options.catalog.current,
      executor: options.executor,
      sandboxLimits: options.sandboxLimits,
      sessionId: () => transport.sessionId,
    });
    await server.connect(transport);
    return transport.handleRequest(c.req.raw, { parsedBody: body });
  });
}

/**
 * The body as text, or undefined past `maxBytes`: the declared Content-Length is checked
 * first, and the bytes actually read are counted too, so a chunked body (no length) or a
 * lying one is cut at the cap instead of being buffered whole. (Requests on an open session
 * are read by the SDK transport, which applies the same cap the same way.)
 */
export async function readBoundedText(request: Request, maxBytes: number): Promise<string | undefined> {
  if (Number(request.headers.get("content-length") ?? "0") > maxBytes) return undefined;
  if (!request.body) return "";
  const reader = request.body.getReader();
  const decoder = new TextDecoder();
  let received = 0;
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > maxBytes) {
      await reader.cancel("request body over the cap");
      return undefined;
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

/**
 * DNS-rebinding protection. The request's own origin comes from the Host header, which a
 * rebinding attacker controls, so "same origin" alone proves nothing: it is accepted only
 * for loopback hosts (a developer's local gateway). Otherwise the Origin must be the
 * configured public URL or an explicitly allowed origin.
 */
function originAllowed(origin: string, publicUrl: string | undefined, requestOrigin: string, allowed: readonly string[]): boolean {
  if (allowed.includes(origin)) return true;
  if (publicUrl && origin === new URL(publicUrl).origin) return true;
  if (origin !== requestOrigin) return false;
  return isLoopbackHostname(new URL(origin).hostname);
}

function rpcError(c: Context<AppEnv>, status: 400 | 403 | 404 | 413, code: number, message: string): Response {
  return c.json({ jsonrpc: "2.0", error: { code, message }, id: null }, status);
}

function unsupportedVersion(c: Context<AppEnv>, version: string): Response {
  return c.json(
    {
      jsonrpc: "2.0",
      error: {
        code: -32602,
        message: `Unsupported protocol version ${version}. This portal speaks ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")} over Streamable HTTP with initialize and Mcp-Session-Id.`,
        data: { supported: SUPPORTED_PROTOCOL_VERSIONS, requested: version },
      },
      id: null,
    },
    400,
  );
}
