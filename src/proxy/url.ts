/**
 * Joins the upstream base and the path after the route prefix. Clients configured with
 * `<gateway>/openai/v1` and upstreams configured with `…/v1` must not produce `/v1/v1`.
 * Gemini's `key` query parameter is a client credential and is dropped.
 */
export function upstreamUrl(base: string, subPath: string, search: string): string {
  const trimmedBase = base.endsWith("/") ? base.slice(0, -1) : base;
  let path = subPath.startsWith("/") ? subPath : `/${subPath}`;
  const baseVersion = /\/(v\d+(?:beta\d*|alpha\d*)?)$/.exec(trimmedBase)?.[1];
  if (baseVersion && (path === `/${baseVersion}` || path.startsWith(`/${baseVersion}/`))) path = path.slice(baseVersion.length + 1) || "/";
  return `${trimmedBase}${path}${stripKeyParam(search)}`;
}

function stripKeyParam(search: string): string {
  if (!search || !search.includes("key=")) return search;
  const params = new URLSearchParams(search);
  params.delete("key");
  const rest = params.toString();
  return rest ? `?${rest}` : "";
}
