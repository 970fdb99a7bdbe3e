const VERSION = /^v\d+(?:beta\d*|alpha\d*)?$/;

/**
 * Joins the upstream base and the canonical path after the route prefix. Clients
 * configured with `<gateway>/openai/v1` and upstreams configured with `…/v1` must not
 * produce `/v1/v1`; when the path names an API version and the base ends in another
 * (`/google-ai-studio/v1/…` on a `…/v1beta` base), the path's version wins. `search` is the
 * re-encoded query the gateway checked (credential parameters already removed).
 */
export function upstreamUrl(base: string, subPath: string, search: string): string {
  let trimmedBase = base.endsWith("/") ? base.slice(0, -1) : base;
  const path = subPath.startsWith("/") ? subPath : `/${subPath}`;
  const baseVersion = trimmedBase.slice(trimmedBase.lastIndexOf("/") + 1);
  const pathVersion = path.split("/")[1] ?? "";
  if (VERSION.test(baseVersion) && VERSION.test(pathVersion)) trimmedBase = trimmedBase.slice(0, -(baseVersion.length + 1));
  return `${trimmedBase}${path}${search}`;
}
