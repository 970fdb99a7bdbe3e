import { GatewayError } from "../core/errors.ts";
import type { EndpointMethod, EndpointSpec, JsonObject, ProviderDescriptor, QueryPattern, RequestShape } from "./types.ts";

export function isQueryPattern(value: readonly string[] | "any" | QueryPattern | undefined): value is QueryPattern {
  return typeof value === "object" && !Array.isArray(value);
}

/**
 * An endpoint that produces no tokens (model lists, provider-side objects): nothing in its
 * answer is read for usage. Its body is JSON for POST and PATCH and none otherwise, unless
 * `body` says so (multipart uploads are raw; a bodiless POST such as a cancel is none).
 */
export function unmeteredEndpoint(name: string, method: EndpointMethod, path: string, options: { object?: EndpointSpec["object"]; query?: EndpointSpec["query"]; body?: EndpointSpec["body"] } = {}): EndpointSpec {
  const body = options.body ?? (method === "POST" || method === "PATCH" ? "json" : "none");
  return { name, method, path, body, format: "none", model: "none", streaming: "never", metered: false, query: options.query ?? {}, object: options.object };
}

/** An org-listed endpoint forwarded without being read: no model, no usage, provider-level access only. */
export interface PassThroughEntry {
  method: EndpointMethod;
  path: string;
}

export interface EndpointMatch {
  spec: EndpointSpec;
  /** `{model}` segment, when the pattern has one. */
  model: string | undefined;
  /** `{id}` segment, when the pattern has one. */
  id: string | undefined;
}

interface CompiledEndpoint {
  spec: EndpointSpec;
  pattern: RegExp;
  groups: Array<"model" | "id">;
}

/**
 * `/models/{model}:generateContent` → /^\/models\/([^/:]+):generateContent$/ and its group names.
 * `{modelId}` is a model segment that may hold ":" (Bedrock's `anthropic.claude-…-v1:0`);
 * `{any}` one segment that is matched but not read.
 */
function compilePattern(path: string): { pattern: RegExp; groups: Array<"model" | "id"> } {
  const groups: Array<"model" | "id"> = [];
  let source = "";
  for (const part of path.split(/(\{model\}|\{modelId\}|\{id\}|\{any\})/)) {
    if (part === "{model}") {
      groups.push("model");
      source += "([^/:]+)";
    } else if (part === "{modelId}") {
      groups.push("model");
      source += "([^/]+)";
    } else if (part === "{id}") {
      groups.push("id");
      source += "([^/:]+)";
    } else if (part === "{any}") source += "[^/:]+";
    else source += part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return { pattern: new RegExp(`^${source}$`), groups };
}

const compiledByProvider = new WeakMap<ProviderDescriptor, CompiledEndpoint[]>();
const compiledPassThrough = new WeakMap<readonly PassThroughEntry[], CompiledEndpoint[]>();

function compiledEndpoints(provider: ProviderDescriptor): CompiledEndpoint[] {
  let compiled = compiledByProvider.get(provider);
  if (!compiled) {
    compiled = provider.endpoints.map((spec) => ({ spec, ...compilePattern(spec.path) }));
    compiledByProvider.set(provider, compiled);
  }
  return compiled;
}

export const PASS_THROUGH_SPEC: Omit<EndpointSpec, "method" | "path"> = { name: "passthrough", body: "raw", format: "none", model: "none", streaming: "never", metered: false, query: {} };

function compiledPassThroughs(entries: readonly PassThroughEntry[]): CompiledEndpoint[] {
  let compiled = compiledPassThrough.get(entries);
  if (!compiled) {
    compiled = entries.map((entry) => ({ spec: { ...PASS_THROUGH_SPEC, method: entry.method, path: entry.path }, ...compilePattern(entry.path) }));
    compiledPassThrough.set(entries, compiled);
  }
  return compiled;
}

/** The path the endpoint patterns are written against: the API version segment removed. */
function apiPath(provider: ProviderDescriptor, path: string): string | undefined {
  const prefix = provider.apiPrefix;
  if (!prefix) return path;
  for (const segment of prefix.segments) if (path.startsWith(`/${segment}/`)) return path.slice(segment.length + 1);
  return prefix.optional ? path : undefined;
}

function find(list: readonly CompiledEndpoint[], method: string, path: string): { match?: EndpointMatch; pathKnown: boolean } {
  let pathKnown = false;
  for (const entry of list) {
    const m = entry.pattern.exec(path);
    if (!m) continue;
    pathKnown = true;
    if (entry.spec.method !== method) continue;
    const match: EndpointMatch = { spec: entry.spec, model: undefined, id: undefined };
    entry.groups.forEach((group, i) => {
      match[group] = m[i + 1];
    });
    return { match, pathKnown };
  }
  return { pathKnown };
}

/**
 * The declared endpoint a canonical request matches, else the org's pass-through entry,
 * else a 404 (405 when the path is declared for another method) in the provider's shape.
 */
export function matchEndpoint(provider: ProviderDescriptor, method: string, path: string, passThrough: readonly PassThroughEntry[] = []): EndpointMatch {
  const api = apiPath(provider, path);
  const declared = api === undefined ? { pathKnown: false } : find(compiledEndpoints(provider), method, api);
  if (declared.match) return declared.match;
  const listed = passThrough.length > 0 ? find(compiledPassThroughs(passThrough), method, path) : { pathKnown: false };
  if (listed.match) return listed.match;
  if (declared.pathKnown || listed.pathKnown) {
    throw new GatewayError("method_not_allowed", `${method} is not served on ${provider.routePrefix}${path} by this gateway.`);
  }
  throw new GatewayError(
    "not_found",
    `${method} ${provider.routePrefix}${path} is not an endpoint this gateway serves for ${provider.displayName}. See docs/security.md for the endpoints it serves; an administrator can list others under providers.${provider.id}.passThrough.`,
  );
}

/** Model ids as providers spell them: no spaces, controls, quotes or globs, so policy and pricing read the id the upstream reads. */
const MODEL_ID = /^[A-Za-z0-9@][A-Za-z0-9._:@/+-]{0,199}$/;

function checkedModel(value: unknown, where: string): string {
  if (typeof value !== "string" || !MODEL_ID.test(value)) {
    throw new GatewayError("bad_request", `${where} must be a model id such as "claude-sonnet-4-5" or "gpt-5" (letters, digits and . _ : @ / + -).`);
  }
  return value;
}

/**
 * The request's shape from its matched endpoint, its decoded query and its parsed body.
 * Every field the gateway governs by is checked for its type: a value the gateway cannot
 * read the way the upstream would (a `"stream": "true"` string, a model id with spaces)
 * is refused rather than guessed.
 */
export function shapeOf(match: EndpointMatch, query: ReadonlyArray<readonly [string, string]>, body: JsonObject | undefined): RequestShape {
  const { spec } = match;
  let model: string | undefined;
  if (spec.model === "path") model = checkedModel(match.model, "The model in the path");
  else if (spec.model === "body") {
    if (body === undefined) throw new GatewayError("bad_request", 'This endpoint needs a JSON body with a "model" field.');
    if (spec.metered || body["model"] !== undefined) model = checkedModel(body["model"], 'The body\'s "model" field');
  }
  let streaming = false;
  if (spec.streaming === "body" && body && body["stream"] !== undefined) {
    if (typeof body["stream"] !== "boolean") throw new GatewayError("bad_request", 'The body\'s "stream" field must be true or false.');
    streaming = body["stream"];
  } else if (spec.streaming === "alt-sse") {
    streaming = query.some(([name, value]) => name === "alt" && value === "sse");
  } else if (spec.streaming === "always") streaming = true;
  return {
    endpoint: spec.name,
    format: spec.format,
    model,
    streaming,
    metered: spec.metered,
    object: spec.object ? { ...spec.object, id: match.id } : undefined,
    endUser: spec.endUser,
    conversationState: spec.conversationState,
  };
}

/**
 * Checks the decoded query against the endpoint's accepted parameters: an unknown name,
 * a value outside the allowed set or a repeated name is refused. Credential parameters
 * are dropped first (they carried the gateway token, never the provider key).
 */
export function checkedQuery(provider: ProviderDescriptor, spec: EndpointSpec, query: ReadonlyArray<readonly [string, string]>, passThrough: boolean): Array<readonly [string, string]> {
  const kept: Array<readonly [string, string]> = [];
  const seen = new Set<string>();
  for (const pair of query) {
    const [name, value] = pair;
    if (provider.credentialQueryParams.includes(name)) continue;
    if (seen.has(name)) throw new GatewayError("bad_request", `Query parameter "${name}" is given twice; send it once.`);
    seen.add(name);
    if (!passThrough) {
      const allowed = spec.query[name];
      if (allowed === undefined) {
        const names = Object.keys(spec.query);
        throw new GatewayError("bad_request", `Query parameter "${name}" is not accepted on ${spec.method} ${spec.path} through this gateway${names.length > 0 ? ` (accepted: ${names.join(", ")})` : " (it takes none)"}.`);
      }
      if (isQueryPattern(allowed)) {
        if (!allowed.pattern.test(value)) throw new GatewayError("bad_request", `Query parameter "${name}" must look like ${allowed.example}; "${value.slice(0, 40)}" does not.`);
      } else if (allowed !== "any" && !allowed.includes(value)) throw new GatewayError("bad_request", `Query parameter "${name}" must be one of: ${allowed.join(", ")}.`);
    }
    kept.push(pair);
  }
  if (!passThrough) {
    for (const name of spec.requiredQuery ?? []) {
      if (seen.has(name)) continue;
      const allowed = spec.query[name];
      const example = allowed === undefined || allowed === "any" ? "…" : isQueryPattern(allowed) ? allowed.example : allowed[0];
      // 404, as the provider itself answers a request without it (Azure: "Resource not found").
      throw new GatewayError("not_found", `Resource not found: ${spec.method} ${spec.path} is served only with the "${name}" query parameter; add ?${name}=${example ?? "…"} to the URL.`);
    }
  }
  return kept;
}

/** Match and shape in one step, for callers that hold an already canonical path. */
export function classify(provider: ProviderDescriptor, method: string, path: string, query: ReadonlyArray<readonly [string, string]>, body: JsonObject | undefined): RequestShape {
  return shapeOf(matchEndpoint(provider, method, path), query, body);
}
