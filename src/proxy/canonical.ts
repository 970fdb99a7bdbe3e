import { GatewayError } from "../core/errors.ts";

/**
 * The request target as the gateway understands it, and exactly what it forwards: the
 * path after the route prefix with every escape decoded and dot segments resolved, and the
 * query as decoded name/value pairs. Classification, pricing and policy read these; the
 * upstream URL is built from `forwardPath` and `forwardSearch`, which re-encode the same
 * decoded text, so an upstream that decodes (uvicorn, gin, Hono) sees what was classified.
 */
export interface CanonicalTarget {
  /** Decoded path after the route prefix, starting with "/" (e.g. `/v1/chat/completions`). */
  path: string;
  /** The same path, percent-encoded where a URL needs it, for the upstream request. */
  forwardPath: string;
  /** Decoded query parameters in arrival order. */
  query: ReadonlyArray<readonly [string, string]>;
}

const HEX = /^[0-9A-Fa-f]{2}$/;

function bad(message: string): GatewayError {
  return new GatewayError("bad_request", `${message} Send the plain path your SDK would send (for example /v1/chat/completions).`);
}

/**
 * Decodes one path segment. Every %XX escape is decoded (upstreams decode them all);
 * what would change the path's structure or cannot be read the same way by every server
 * is refused: an encoded "/" or "\", NUL and other control characters, "%" itself (a
 * second decoding would read a different path), invalid escapes and invalid UTF-8.
 */
function decodeSegment(segment: string): string {
  if (segment.indexOf("%") === -1) {
    if (segment.indexOf("\\") !== -1) throw bad("The request path contains a backslash.");
    return segment;
  }
  for (let i = segment.indexOf("%"); i !== -1; i = segment.indexOf("%", i + 1)) {
    if (!HEX.test(segment.slice(i + 1, i + 3))) throw bad("The request path contains an invalid percent-escape.");
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch (err) {
    if (err instanceof URIError) throw bad("The request path contains percent-escapes that are not valid UTF-8.");
    throw err;
  }
  if (/[/\\%]/.test(decoded)) throw bad('The request path encodes "/", "\\" or "%" inside a segment.');
  if (/[\u0000-\u001f\u007f]/.test(decoded)) throw bad("The request path encodes a control character.");
  return decoded;
}

// Characters a path segment may carry literally (RFC 3986 pchar minus "%"); the rest is escaped.
const SEGMENT_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]*$/;

function encodeSegment(segment: string): string {
  if (SEGMENT_SAFE.test(segment)) return segment;
  return encodeURIComponent(segment).replace(/%3A/gi, ":").replace(/%40/gi, "@");
}

/**
 * Canonicalises the raw request path and query once, before anything looks at them.
 * `rawPath` is the path as received (not decoded); `routePrefix` the provider's mount
 * point. A path that does not stay under the prefix after dot segments are resolved is
 * refused, as is any control character anywhere.
 */
export function canonicalTarget(rawPath: string, rawSearch: string, routePrefix: string): CanonicalTarget {
  if (/[\u0000-\u0020\u007f]/.test(rawPath) || /[\u0000-\u001f\u007f]/.test(rawSearch)) throw bad("The request target contains control characters or spaces.");
  if (!rawPath.startsWith("/")) throw bad("The request target must be a path starting with /.");
  const resolved: string[] = [];
  const raw = rawPath.split("/");
  const trailingSlash = raw.length > 2 && raw[raw.length - 1] === "";
  for (let i = 1; i < raw.length; i++) {
    const segment = decodeSegment(raw[i] as string);
    // Empty segments are collapsed: "//v1" and "/v1" are one path.
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (resolved.length === 0) throw bad("The request path climbs above the root.");
      resolved.pop();
      continue;
    }
    resolved.push(segment);
  }
  const prefix = routePrefix.split("/").filter(Boolean);
  for (let i = 0; i < prefix.length; i++) {
    if (resolved[i] !== prefix[i]) throw bad(`The request path leaves the ${routePrefix} route.`);
  }
  const rest = resolved.slice(prefix.length);
  const tail = trailingSlash && rest.length > 0 ? "/" : "";
  return {
    path: `/${rest.join("/")}${tail}`,
    forwardPath: `/${rest.map(encodeSegment).join("/")}${tail}`,
    query: parseQuery(rawSearch),
  };
}

/** Decodes `?a=1&b=2` as application/x-www-form-urlencoded, the way every upstream reads it. */
function parseQuery(rawSearch: string): Array<readonly [string, string]> {
  const text = rawSearch.startsWith("?") ? rawSearch.slice(1) : rawSearch;
  if (text === "") return [];
  const pairs: Array<readonly [string, string]> = [];
  for (const part of text.split("&")) {
    if (part === "") continue;
    for (let i = part.indexOf("%"); i !== -1; i = part.indexOf("%", i + 1)) {
      if (!HEX.test(part.slice(i + 1, i + 3))) throw bad("The query string contains an invalid percent-escape.");
    }
    const eq = part.indexOf("=");
    const name = decodeQueryText(eq === -1 ? part : part.slice(0, eq));
    const value = eq === -1 ? "" : decodeQueryText(part.slice(eq + 1));
    if (/[\u0000-\u001f\u007f]/.test(name + value)) throw bad("The query string decodes to control characters.");
    pairs.push([name, value]);
  }
  return pairs;
}

function decodeQueryText(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch (err) {
    if (err instanceof URIError) throw bad("The query string contains percent-escapes that are not valid UTF-8.");
    throw err;
  }
}

/** The query string forwarded upstream: the decoded pairs the gateway read, encoded once. */
export function encodeQuery(pairs: ReadonlyArray<readonly [string, string]>): string {
  if (pairs.length === 0) return "";
  return `?${pairs.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join("&")}`;
}
