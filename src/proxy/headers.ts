import { CLIENT_CREDENTIAL_HEADERS } from "../core/auth.ts";
import { AI_GATEWAY_HEADER_PREFIX, type KeyPlacement } from "../providers/index.ts";

/** Hop-by-hop headers (RFC 9110 §7.6.1) and ones the gateway recomputes. */
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "proxy-authorization", "proxy-authenticate", "content-length", "host", "expect"];

/**
 * Never forwarded: client credentials (whichever carried the gateway token), cookies,
 * accept-encoding (the usage reader must see plain bytes, so upstreams answer uncompressed)
 * and method overrides (the method the gateway matched is the method the upstream runs).
 */
const STRIPPED_REQUEST = new Set<string>([...CLIENT_CREDENTIAL_HEADERS, "cookie", "accept-encoding", "x-http-method-override", "x-http-method", "x-method-override", ...HOP_BY_HOP]);

/** Response headers the client must not get from the upstream. */
const STRIPPED_RESPONSE = new Set<string>([...HOP_BY_HOP, "set-cookie"]);

export function forwardRequestHeaders(incoming: Readonly<Record<string, string | string[] | undefined>>, key: { placement: KeyPlacement; value: string } | undefined, extra: Record<string, string>, alsoStrip: readonly string[] = []): Record<string, string> {
  const named = connectionNamed(incoming["connection"]);
  const out: Record<string, string> = {};
  for (const name in incoming) {
    // cf-aig-*: Cloudflare AI Gateway's own controls (metadata, cache key, logging, cost, its token) are never a client's to set, on any route.
    if (STRIPPED_REQUEST.has(name) || named.has(name) || alsoStrip.includes(name) || name.startsWith("x-gatehouse-") || name.startsWith(AI_GATEWAY_HEADER_PREFIX)) continue;
    const value = incoming[name];
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  if (key) {
    if (key.placement === "x-api-key") out["x-api-key"] = key.value;
    else if (key.placement === "x-goog-api-key") out["x-goog-api-key"] = key.value;
    else if (key.placement === "api-key") out["api-key"] = key.value;
    else out["authorization"] = `Bearer ${key.value}`;
  }
  out["accept-encoding"] = "identity";
  for (const name in extra) out[name] = extra[name] as string;
  return out;
}

/**
 * The headers the gateway sets on an upstream request, later ones winning: the provider's
 * pinned headers, the caller's anonymous id, for a re-serialised JSON body its content
 * type, and the route's own (Cloudflare AI Gateway's). Built by assignment into a fresh object: spreading the parsed config object with a
 * computed key gave a dictionary-mode object, 4 µs per request to build and walk
 * (bench/README.md, "Hot path after the observer").
 */
export function gatewayHeaders(pinned: Readonly<Record<string, string>>, userIdHeader: string, callerId: string, jsonBody: boolean, routeHeaders?: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in pinned) out[name] = pinned[name] as string;
  out[userIdHeader] = callerId;
  if (jsonBody) out["content-type"] = "application/json";
  // The route's own headers last (AI Gateway's token and metadata): nothing pinned replaces them.
  if (routeHeaders) for (const name in routeHeaders) out[name] = routeHeaders[name] as string;
  return out;
}

export function filterResponseHeaders(upstream: Readonly<Record<string, string | string[] | undefined>>, dropContentLength: boolean): Record<string, string | string[]> {
  const named = connectionNamed(upstream["connection"]);
  const out: Record<string, string | string[]> = {};
  for (const name in upstream) {
    if (named.has(name)) continue;
    if (STRIPPED_RESPONSE.has(name) && !(name === "content-length" && !dropContentLength)) continue;
    const value = upstream[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

const NONE: ReadonlySet<string> = new Set();
// Parsed Connection header values: peers send the same few ("keep-alive", "close") on every
// message, and building a Set per request showed up in profiles. Bounded: clients choose it.
const connectionValues = new Map<string, ReadonlySet<string>>();

function connectionNamed(value: string | string[] | undefined): ReadonlySet<string> {
  if (!value) return NONE;
  const text = Array.isArray(value) ? value.join(",") : value;
  let named = connectionValues.get(text);
  if (!named) {
    named = new Set(
      text
        .split(",")
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    );
    if (connectionValues.size < 256) connectionValues.set(text, named);
  }
  return named;
}
