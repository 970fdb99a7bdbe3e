import type { Clock } from "../../core/clock.ts";
import type { SecretSource } from "../../core/deps.ts";
import type { Logger } from "../../core/logger.ts";
import { GatewayError } from "../../core/errors.ts";
import { usesOAuth, type McpServersConfig, type UpstreamOAuthConfig } from "../../config/mcp-schema.ts";
import type { UserTokenProvider } from "../upstream/pool.ts";
import { timingSafeEqualText } from "../../core/auth.ts";
import { toBase64Url } from "./cipher.ts";
import type { OAuthTokenStore, UpstreamTokens } from "./token-store.ts";

export interface UpstreamOAuthOptions {
  servers: () => McpServersConfig;
  store: OAuthTokenStore;
  secrets: SecretSource;
  clock: Clock;
  logger: Logger;
  fetch?: typeof fetch;
  /** Refresh this long before the access token expires. */
  refreshSkewMs?: number;
}

interface PendingAuthorization {
  serverId: string;
  callerId: string;
  verifier: string;
  redirectUri: string;
  expiresAt: number;
  /** SHA-256 of the browser key set as a cookie at connect: only that browser can finish. */
  browserKeyHash: string;
}

/** Long enough to log in and consent upstream, short enough that a leaked link goes stale. */
export const PENDING_TTL_MS = 5 * 60_000;
/** Unfinished connections kept per caller; starting another drops the oldest. */
const MAX_PENDING_PER_CALLER = 5;

/** What the callback presents: the connect cookie's browser key, and who its credentials say it is (if it sent any). */
export interface CallbackProof {
  browserKey: string | undefined;
  /** Undefined when the callback request carried no gateway credentials (a plain browser). */
  callerId: string | undefined;
}

/** A started connection: where to send the browser, and the key the browser must bring back. */
export interface StartedAuthorization {
  url: string;
  state: string;
  browserKey: string;
}

/**
 * Per-user OAuth 2.1 towards upstream MCP servers: authorization code with PKCE (S256) and
 * the RFC 8707 resource indicator, tokens encrypted at rest, refreshed before expiry and
 * after a 401. A failed refresh deletes the tokens so the user is asked to connect again
 * instead of silently seeing no tools.
 */
export class UpstreamOAuth implements UserTokenProvider {
  private readonly pending = new Map<string, PendingAuthorization>();
  private readonly refreshing = new Map<string, Promise<boolean>>();
  private readonly fetchImpl: typeof fetch;
  private readonly skewMs: number;

  constructor(private readonly options: UpstreamOAuthOptions) {
    this.fetchImpl = options.fetch ?? fetch;
    this.skewMs = options.refreshSkewMs ?? 60_000;
  }

  connectPath(serverId: string): string {
    return `/mcp/oauth/${encodeURIComponent(serverId)}/connect`;
  }

  async accessToken(serverId: string, callerId: string): Promise<string | undefined> {
    const tokens = await this.options.store.get(serverId, callerId);
    if (!tokens) return undefined;
    if (tokens.expiresAt !== undefined && tokens.expiresAt - this.skewMs <= this.options.clock.now()) {
      if (!tokens.refreshToken || !(await this.refresh(serverId, callerId))) return undefined;
      return (await this.options.store.get(serverId, callerId))?.accessToken;
    }
    return tokens.accessToken;
  }

  async refresh(serverId: string, callerId: string): Promise<boolean> {
    const key = `${serverId}\u0000${callerId}`;
    let running = this.refreshing.get(key);
    if (!running) {
      running = this.doRefresh(serverId, callerId).finally(() => this.refreshing.delete(key));
      this.refreshing.set(key, running);
    }
    return running;
  }

  /**
   * Where to send the user's browser. The state is bound to this caller and server, and to
   * the browser: the caller's browser gets `browserKey` as a cookie, and the callback only
   * completes with it. A link forwarded to anyone else is refused, so no one can have their
   * upstream account stored under another user's id.
   */
  async authorizationUrl(serverId: string, callerId: string, redirectUri: string): Promise<StartedAuthorization> {
    const config = this.oauthConfig(serverId);
    this.sweep();
    this.limitPending(callerId);
    const state = randomToken();
    const verifier = randomToken();
    const browserKey = randomToken();
    const challenge = toBase64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
    this.pending.set(state, { serverId, callerId, verifier, redirectUri, expiresAt: this.options.clock.now() + PENDING_TTL_MS, browserKeyHash: await sha256(browserKey) });
    const url = new URL(config.authorizationUrl);
    url.searchParams.set("response_type", "code");
    url.searchParams.set("client_id", config.clientId);
    url.searchParams.set("redirect_uri", redirectUri);
    url.searchParams.set("state", state);
    url.searchParams.set("code_challenge", challenge);
    url.searchParams.set("code_challenge_method", "S256");
    url.searchParams.set("resource", this.resource(serverId, config));
    if (config.scopes.length > 0) url.searchParams.set("scope", config.scopes.join(" "));
    return { url: url.toString(), state, browserKey };
  }

  /** Forget a started connection (the upstream answered with an error): its state is spent. */
  abandon(state: string): void {
    this.pending.delete(state);
  }

  /**
   * The callback: check the state is known, unexpired (5 minutes) and presented by the
   * browser and caller that started it, then exchange the code and store the tokens under
   * that caller. The state is spent on the first attempt, refused or not.
   */
  async complete(state: string, code: string, proof: CallbackProof): Promise<{ serverId: string }> {
    const pending = this.pending.get(state);
    this.pending.delete(state);
    if (!pending || pending.expiresAt < this.options.clock.now()) throw new GatewayError("bad_request", "Unknown or expired authorization state; start the connection again.");
    const sameBrowser = proof.browserKey !== undefined && timingSafeEqualText(await sha256(proof.browserKey), pending.browserKeyHash);
    const sameCaller = proof.callerId === undefined || proof.callerId === pending.callerId;
    if (!sameBrowser || !sameCaller) {
      // The code is not redeemed: nothing is stored, under either user.
      this.options.logger.warn({ server: pending.serverId, sameBrowser, sameCaller }, "mcp oauth: callback refused (not the browser or user that started it)");
      throw new GatewayError("forbidden", `This connection to "${pending.serverId}" was started by another user or in another browser, so it was not completed. Open ${this.connectPath(pending.serverId)} yourself, in this browser, to connect your account.`);
    }
    const config = this.oauthConfig(pending.serverId);
    const tokens = await this.tokenRequest(pending.serverId, config, {
      grant_type: "authorization_code",
      code,
      redirect_uri: pending.redirectUri,
      code_verifier: pending.verifier,
    });
    if (!tokens) throw new GatewayError("upstream_unavailable", `The authorization server of "${pending.serverId}" refused the code.`);
    await this.options.store.put(pending.serverId, pending.callerId, tokens, this.options.clock.now());
    return { serverId: pending.serverId };
  }

  private async doRefresh(serverId: string, callerId: string): Promise<boolean> {
    const current = await this.options.store.get(serverId, callerId);
    if (!current?.refreshToken) {
      await this.options.store.delete(serverId, callerId);
      return false;
    }
    const tokens = await this.tokenRequest(serverId, this.oauthConfig(serverId), { grant_type: "refresh_token", refresh_token: current.refreshToken });
    if (!tokens) {
      this.options.logger.warn({ server: serverId }, "mcp oauth: refresh refused; the user must connect again");
      await this.options.store.delete(serverId, callerId);
      return false;
    }
    // Servers that do not rotate refresh tokens omit it: keep the old one.
    await this.options.store.put(serverId, callerId, { ...tokens, refreshToken: tokens.refreshToken ?? current.refreshToken }, this.options.clock.now());
    return true;
  }

  private async tokenRequest(serverId: string, config: UpstreamOAuthConfig, grant: Record<string, string>): Promise<UpstreamTokens | undefined> {
    const body = new URLSearchParams({ ...grant, client_id: config.clientId, resource: this.resource(serverId, config) });
    if (config.clientSecret) {
      const secret = this.options.secrets.get(config.clientSecret);
      if (!secret) throw new GatewayError("not_configured", `MCP server "${serverId}" needs the secret ${config.clientSecret}, which is not set.`);
      body.set("client_secret", secret);
    }
    const response = await this.fetchImpl(config.tokenUrl, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" }, body });
    if (!response.ok) {
      await response.body?.cancel();
      // Only the status: token endpoint bodies can echo credentials.
      this.options.logger.warn({ server: serverId, status: response.status, grant: grant["grant_type"] }, "mcp oauth: token endpoint refused");
      return undefined;
    }
    const json = (await response.json()) as { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown };
    if (typeof json.access_token !== "string" || json.access_token === "") return undefined;
    return {
      accessToken: json.access_token,
      refreshToken: typeof json.refresh_token === "string" ? json.refresh_token : undefined,
      expiresAt: typeof json.expires_in === "number" ? this.options.clock.now() + json.expires_in * 1000 : undefined,
    };
  }

  private oauthConfig(serverId: string): UpstreamOAuthConfig {
    const servers = this.options.servers();
    const config = Object.hasOwn(servers, serverId) ? servers[serverId] : undefined;
    if (!config || !usesOAuth(config)) throw new GatewayError("not_found", `MCP server "${serverId}" does not use per-user OAuth.`);
    return config.auth.oauth;
  }

  private resource(serverId: string, config: UpstreamOAuthConfig): string {
    return config.resource ?? this.options.servers()[serverId]?.url ?? "";
  }

  private sweep(): void {
    const now = this.options.clock.now();
    for (const [state, pending] of this.pending) if (pending.expiresAt < now) this.pending.delete(state);
  }

  /** Keeps a caller's unfinished connections to the newest few (the map is in insertion order). */
  private limitPending(callerId: string): void {
    const mine = [...this.pending].filter(([, pending]) => pending.callerId === callerId);
    for (const [state] of mine.slice(0, Math.max(0, mine.length - (MAX_PENDING_PER_CALLER - 1)))) this.pending.delete(state);
  }
}

function randomToken(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}

async function sha256(text: string): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}
