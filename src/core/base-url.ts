import type { Settings } from "./settings.ts";
import { settingsEnvNames } from "./settings.ts";
import { GatewayError } from "./errors.ts";
import { isLoopbackHostname } from "./host-guard.ts";

/**
 * The gateway's public origin for served documents (OpenCode config, OAuth metadata, the OIDC
 * redirect URI): GATEHOUSE_PUBLIC_URL. Only dev mode may go without one, and then the request's
 * origin is used only when it is a loopback one (the host guard refuses others first; this is
 * the second lock): a Host header is the client's to choose and must never reach a document
 * another user or a cache will read.
 */
export function publicBaseUrl(settings: Pick<Settings, "publicUrl" | "authMode">, requestUrl: string): string {
  if (settings.publicUrl) return settings.publicUrl.replace(/\/+$/, "");
  const url = new URL(requestUrl);
  if (settings.authMode !== "dev" || !isLoopbackHostname(url.hostname)) {
    throw new GatewayError("not_configured", `${settingsEnvNames.publicUrl} is not set; the gateway will not take its public address from the request's Host header.`);
  }
  return url.origin;
}

/** oidc and jwt modes serve documents to many users: a public URL is required to start. */
export function assertPublicUrlConfigured(settings: Pick<Settings, "publicUrl" | "authMode">): void {
  if (settings.authMode === "dev" || settings.publicUrl) return;
  throw new Error(`GATEHOUSE_AUTH_MODE=${settings.authMode} needs ${settingsEnvNames.publicUrl} (e.g. https://gatehouse.example.com): served config, OAuth metadata and the sign-in redirect use it, never the request's Host header.`);
}
