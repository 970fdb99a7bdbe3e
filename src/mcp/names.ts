/**
 * Namespacing: every upstream tool, prompt and resource is exposed as `{server}_{name}`.
 * Server ids contain no `_`, so splitting at the first `_` is unambiguous even when the
 * upstream's own name contains underscores.
 */
export function namespaced(serverId: string, name: string): string {
  return `${serverId}_${name}`;
}

export function splitNamespaced(name: string): { serverId: string; name: string } | undefined {
  const at = name.indexOf("_");
  if (at <= 0 || at === name.length - 1) return undefined;
  return { serverId: name.slice(0, at), name: name.slice(at + 1) };
}

/**
 * Resource URIs keep their scheme readable but carry the server id so a read can be
 * routed: `mcp-portal://{server}/{encoded upstream uri}`.
 */
const RESOURCE_SCHEME = "gatehouse-mcp:";

export function namespacedUri(serverId: string, uri: string): string {
  return `${RESOURCE_SCHEME}//${serverId}/${encodeURIComponent(uri)}`;
}

export function splitNamespacedUri(uri: string): { serverId: string; uri: string } | undefined {
  if (!uri.startsWith(`${RESOURCE_SCHEME}//`)) return undefined;
  const rest = uri.slice(RESOURCE_SCHEME.length + 2);
  const slash = rest.indexOf("/");
  if (slash <= 0) return undefined;
  try {
    return { serverId: rest.slice(0, slash), uri: decodeURIComponent(rest.slice(slash + 1)) };
  } catch (err) {
    if (err instanceof URIError) return undefined;
    throw err;
  }
}
