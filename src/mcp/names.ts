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
 * Resource URIs (and URI templates) carry the server id so a read can be routed:
 * `gatehouse-mcp://{server}/{upstream uri, unchanged}`. The upstream part is kept verbatim
 * so templates like `file:///{path}` still expand on the client.
 */
const RESOURCE_PREFIX = "gatehouse-mcp://";

export function namespacedUri(serverId: string, uri: string): string {
  return `${RESOURCE_PREFIX}${serverId}/${uri}`;
}

export function splitNamespacedUri(uri: string): { serverId: string; uri: string } | undefined {
  if (!uri.startsWith(RESOURCE_PREFIX)) return undefined;
  const rest = uri.slice(RESOURCE_PREFIX.length);
  const slash = rest.indexOf("/");
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return { serverId: rest.slice(0, slash), uri: rest.slice(slash + 1) };
}
