import type { Settings } from "../core/settings.ts";

/** The gateway's public origin: the configured public URL, else the origin the request came to. */
export function publicBaseUrl(settings: Pick<Settings, "publicUrl">, requestUrl: string): string {
  const base = settings.publicUrl ?? new URL(requestUrl).origin;
  return base.replace(/\/+$/, "");
}
