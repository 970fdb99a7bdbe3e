import type { Settings } from "../core/settings.ts";
import { settingsEnvNames } from "../core/settings.ts";

/** oidc and jwt modes serve documents to many users: a public URL is required to start. */
export function assertPublicUrlConfigured(settings: Pick<Settings, "publicUrl" | "authMode">): void {
  if (settings.authMode === "dev" || settings.publicUrl) return;
  throw new Error(`GATEHOUSE_AUTH_MODE=${settings.authMode} needs ${settingsEnvNames.publicUrl} (e.g. https://gatehouse.example.com): served config, OAuth metadata and the sign-in redirect use it, never the request's Host header.`);
}
