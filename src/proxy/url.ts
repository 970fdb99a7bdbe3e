/**
 * Joins the upstream base and the canonical path after the route prefix. Clients
 * configured with `<gateway>/openai/v1` and upstreams configured with `…/v1` must not
 * produce `/v1/v1`. `search` is the re-encoded query the gateway checked (credential
 * parameters already removed, see providers/endpoints.ts).
 */
export function upstreamUrl(base: string, subPath: string, search: string): string {
  const trimmedBase = base.endsWith("/") ? base.slice(0, -1) : base;
  let path = subPath.startsWith("/") ? subPath : `/${subPath}`;
  const baseVersion = /\/(v\d+(?:beta\d*|alpha\d*)?)$/.exec(trimmedBase)?.[1];
  if (baseVersion && (path === `/${baseVersion}` || path.startsWith(`/${baseVersion}/`))) path = path.slice(baseVersion.length + 1) || "/";
  return `${trimmedBase}${path}${search}`;
}
