import { GatewayError } from "../core/errors.ts";
import type { JsonObject } from "../providers/index.ts";

export interface MediaType {
  /** type/subtype, lower-cased. */
  essence: string;
  /** Parameter names lower-cased; values as sent (unquoted). */
  params: ReadonlyMap<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Parses a Content-Type value per RFC 9110 §8.3.1: type and subtype are case-insensitive; parameters follow ";". */
export function parseMediaType(value: string): MediaType | undefined {
  const semi = value.indexOf(";");
  const essence = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
  const slash = essence.indexOf("/");
  if (slash <= 0 || !TOKEN.test(essence.slice(0, slash)) || !TOKEN.test(essence.slice(slash + 1))) return undefined;
  const params = new Map<string, string>();
  let rest = semi === -1 ? "" : value.slice(semi + 1);
  while (rest.trim() !== "") {
    const m = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)=("(?:[^"\\]|\\.)*"|[!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*(?:;|$)/.exec(rest);
    if (!m) return undefined;
    const raw = m[2] as string;
    params.set((m[1] as string).toLowerCase(), raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw);
    rest = rest.slice(m[0].length);
  }
  return { essence, params };
}

const fatalDecoder = new TextDecoder("utf-8", { fatal: true });

function single(value: string | string[] | undefined, name: string): string | undefined {
  if (Array.isArray(value)) {
    if (value.length > 1) throw new GatewayError("bad_request", `The request has ${value.length} ${name} headers; send one.`);
    return value[0];
  }
  return value;
}

/**
 * The JSON body of an endpoint that takes JSON. The media type must be application/json
 * (any case, optional charset=utf-8), the body must not be content-encoded (the upstream
 * would decode bytes the gateway never read), and it must parse as one JSON object.
 */
export function parseJsonRequest(bytes: Uint8Array, contentType: string | string[] | undefined, contentEncoding: string | string[] | undefined): JsonObject {
  const encoding = single(contentEncoding, "Content-Encoding");
  if (encoding !== undefined && encoding.trim().toLowerCase() !== "identity") {
    throw new GatewayError("unsupported_media_type", `Content-Encoding "${encoding}" is not accepted; send the JSON body uncompressed.`);
  }
  const type = single(contentType, "Content-Type");
  const media = type === undefined ? undefined : parseMediaType(type);
  const charset = media?.params.get("charset")?.toLowerCase();
  if (!media || media.essence !== "application/json" || (charset !== undefined && charset !== "utf-8" && charset !== "utf8")) {
    throw new GatewayError("unsupported_media_type", `This endpoint takes a JSON body: send Content-Type: application/json${type === undefined ? "" : ` (got "${type}")`}.`);
  }
  if (bytes.byteLength === 0) throw new GatewayError("bad_request", "The request body is empty; this endpoint takes a JSON object.");
  let text: string;
  try {
    text = fatalDecoder.decode(bytes);
  } catch (err) {
    if (err instanceof TypeError) throw new GatewayError("bad_request", "The request body is not valid UTF-8.");
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) throw new GatewayError("bad_request", `The request body is not valid JSON: ${err.message}`);
    throw err;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new GatewayError("bad_request", "The request body must be a JSON object.");
  return parsed as JsonObject;
}

/** An endpoint that takes no body: any body bytes are refused rather than forwarded unread. */
export function requireNoBody(headers: Readonly<Record<string, string | string[] | undefined>>): void {
  const length = headers["content-length"];
  if ((length !== undefined && length !== "0") || headers["transfer-encoding"] !== undefined) {
    throw new GatewayError("bad_request", "This endpoint takes no request body; send the request without one.");
  }
}
