import { GatewayError } from "./errors.ts";
import { hostnameOfHost, isLoopbackHostname } from "./host-guard.ts";
import { settingsEnvNames, type Settings } from "./settings.ts";

/** What the base URL needs of a request: its URL (built by the runtime from the Host header) and its headers. */
export interface RequestOrigin {
  url: string;
  headers: { get(name: string): string | null };
}

export type PublicUrlSettings = Pick<Settings, "publicUrl" | "authMode">;

/** GATEHOUSE_PUBLIC_URL without trailing slashes, or undefined when it is not set. */
export function configuredPublicUrl(settings: Pick<Settings, "publicUrl">): string | undefined {
  return settings.publicUrl ? settings.publicUrl.replace(/\/+$/, "") : undefined;
}

/**
 * The gateway's public base URL (origin, no trailing slash) for everything it serves that
 * names itself: the OpenCode config, OAuth and MCP metadata, the sign-in redirect, cookie
 * Secure flags, the landing page. The rules, one place:
 *
 * 1. GATEHOUSE_PUBLIC_URL, when set, wins whatever the request says.
 * 2. Forwarded headers (X-Forwarded-Host, X-Forwarded-Proto, Forwarded) are never read: no
 *    setting trusts a proxy to set them, so any client could. Behind a proxy, set rule 1.
 * 3. Without a public URL only dev mode answers from the request, and only when both the
 *    request URL's host and the Host header are loopback names (the same test as the host
 *    guard, a second lock): a Host is the client's to choose and must never reach a document
 *    another user or a cache will read.
 *
 * Undefined when none applies; `publicBaseUrl` turns that into the error.
 */
export function trustedBaseUrl(settings: PublicUrlSettings, request: RequestOrigin): string | undefined {
  const configured = configuredPublicUrl(settings);
  if (configured) return configured;
  if (settings.authMode !== "dev") return undefined;
  let url: URL;
  try {
    url = new URL(request.url);
  } catch (err) {
    if (err instanceof TypeError) return undefined;
    throw err;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  const hostHeader = request.headers.get("host");
  const names = [url.hostname, ...(hostHeader === null ? [] : [hostnameOfHost(hostHeader)])];
  if (!names.every((name) => name !== undefined && isLoopbackHostname(name))) return undefined;
  return url.origin;
}

/** `trustedBaseUrl`, or a not_configured error naming the setting that fixes it. */
export function publicBaseUrl(settings: PublicUrlSettings, request: RequestOrigin): string {
  const base = trustedBaseUrl(settings, request);
  if (base === undefined) throw new GatewayError("not_configured", `${settingsEnvNames.publicUrl} is not set; the gateway will not take its public address from the request's Host header.`);
  return base;
}

/** Whether cookies the gateway sets must be Secure: its public base URL is https (not the hop that reached it, which a TLS-terminating proxy makes http). */
export function publicUrlIsHttps(settings: PublicUrlSettings, request: RequestOrigin): boolean {
  return (trustedBaseUrl(settings, request) ?? request.url).startsWith("https:");
}

/** oidc and jwt modes serve documents to many users: a public URL is required to start. */
export function assertPublicUrlConfigured(settings: PublicUrlSettings): void {
  if (settings.authMode === "dev" || settings.publicUrl) return;
  throw new Error(`GATEHOUSE_AUTH_MODE=${settings.authMode} needs ${settingsEnvNames.publicUrl} (e.g. https://gatehouse.example.com): served config, OAuth metadata and the sign-in redirect use it, never the request's Host header.`);
}
