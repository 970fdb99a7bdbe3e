import { GatewayError } from "../core/errors.ts";
import { compat } from "./compat.ts";

/**
 * Named OpenAI-compatible upstreams (`providers.compat.upstreams`): one model namespace.
 * On `/compat/v1/…` the model `<name>/<model>` goes to upstream `<name>` as `<model>`;
 * `/compat/<name>/v1/…` with the bare `<model>` is the same request. The gateway's model id
 * (ledger, policy, budgets, pricing overrides) is always `<name>/<model>`, so patterns such as
 * `compat/vllm/*` separate the upstreams. Anything that spells a name another way, or names two
 * upstreams at once, is refused: a caller must never reach one upstream by a spelling that
 * policy reads as another.
 */

/** Short, lower-case, URL- and label-safe: it is a path segment, a model prefix and a metric label. */
export const COMPAT_UPSTREAM_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** First segments of /compat's own paths (`/compat/v1/…`, `/compat/chat/completions`): never an upstream's name. */
export const RESERVED_COMPAT_UPSTREAM_NAMES: readonly string[] = [...new Set([...(compat.apiPrefix?.segments ?? []), ...compat.endpoints.map((e) => e.path.split("/")[1] ?? "")])].filter(Boolean);

/** Where a compat model goes: `upstream` undefined is the unnamed default (`providers.compat.upstream`). */
export interface CompatModelTarget {
  upstream: string | undefined;
  /** The model id the upstream gets (its own id: no prefix). */
  model: string;
}

/** How a text would read as a name if someone decoded, trimmed or lower-cased it. */
function looseName(text: string): string {
  let decoded = text;
  try {
    decoded = decodeURIComponent(text);
  } catch (err) {
    if (!(err instanceof URIError)) throw err;
  }
  return decoded.trim().toLowerCase();
}

function namesList(names: readonly string[]): string {
  return names.length ? names.join(", ") : "(none)";
}

/** A client-supplied text quoted in an error: bounded, JSON-escaped. */
function quoted(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

/**
 * Splits a gateway model id at its first "/" when that segment is a configured name. A
 * segment that is a name only once decoded, trimmed or lower-cased, an empty name or an empty
 * model is refused (not sent to the default as a model id that policy reads differently).
 */
export function splitCompatModel(names: readonly string[], model: string): CompatModelTarget {
  const slash = model.indexOf("/");
  if (slash === -1) return { upstream: undefined, model };
  const head = model.slice(0, slash);
  const rest = model.slice(slash + 1);
  if (names.includes(head)) {
    if (rest.trim() === "") throw new GatewayError("bad_request", `The model ${quoted(model)} names compat upstream "${head}" but no model: send ${head}/<model id>.`);
    return { upstream: head, model: rest };
  }
  if (head === "") throw new GatewayError("bad_request", `The model ${quoted(model)} starts with "/": name a compat upstream (${namesList(names)}) as <name>/<model>, or send the model id alone for the default upstream.`);
  const loose = looseName(head);
  if (names.includes(loose)) throw new GatewayError("bad_request", `The model ${quoted(model)} spells compat upstream "${loose}" differently: upstream names are written exactly, in lower case (${loose}/${rest}).`);
  return { upstream: undefined, model };
}

/** The decoded request path after `/compat`, with the upstream's name taken out when it starts with one. */
export interface CompatPath {
  upstream: string | undefined;
  path: string;
  forwardPath: string;
}

/**
 * Reads `/compat/<name>/…`. A first segment that is a configured name selects that upstream;
 * one of /compat's own roots (`v1`, `chat`, …, and the org's pass-through roots) is the
 * unnamed form; anything else is an unknown name, refused with the configured names.
 */
export function compatPathUpstream(names: readonly string[], passThroughRoots: readonly string[], target: { path: string; forwardPath: string }): CompatPath {
  const first = target.path.split("/")[1] ?? "";
  if (names.includes(first)) {
    const strip = (path: string): string => {
      const rest = path.slice(1 + first.length);
      return rest === "" ? "/" : rest;
    };
    // Segments map one to one between the decoded and the re-encoded path; a name needs no encoding.
    return { upstream: first, path: strip(target.path), forwardPath: strip(target.forwardPath) };
  }
  if (first === "" || RESERVED_COMPAT_UPSTREAM_NAMES.includes(first) || passThroughRoots.includes(first)) return { upstream: undefined, ...target };
  const loose = looseName(first);
  const hint = names.includes(loose) ? ` Upstream names are written exactly, in lower case: /compat/${loose}/v1/….` : "";
  throw new GatewayError(
    "not_found",
    `No compat upstream named ${quoted(first)} is configured on this gateway; configured names: ${namesList(names)}.${hint} Use /compat/<name>/v1/… with the upstream's own model id, or /compat/v1/… with the model <name>/<model>.`,
  );
}

/**
 * The gateway's model id for a compat request: `<name>/<model>` on the path form, the body's
 * id as is otherwise (validated by splitCompatModel). On the path form a body model that
 * itself starts with a configured name is refused: the path and the body would name two
 * upstreams (or one twice), and the gateway does not guess which was meant.
 */
export function compatGatewayModel(names: readonly string[], pathUpstream: string | undefined, model: string | undefined): string | undefined {
  if (model === undefined) return undefined;
  if (pathUpstream === undefined) {
    splitCompatModel(names, model);
    return model;
  }
  const head = model.slice(0, Math.max(0, model.indexOf("/")));
  if (head !== "" && names.includes(looseName(head))) {
    throw new GatewayError(
      "bad_request",
      `The path names compat upstream "${pathUpstream}" and the model ${quoted(model)} starts with upstream "${looseName(head)}": on /compat/${pathUpstream}/v1/… send that upstream's own model id, or use /compat/v1/… with the model <name>/<model>.`,
    );
  }
  return `${pathUpstream}/${model}`;
}

/** Where a model with no configured name goes when there is no unnamed default: refused, naming the upstreams. */
export function noDefaultCompatUpstream(names: readonly string[], model: string | undefined): GatewayError {
  const what = model === undefined ? "This request names no compat upstream" : `The model ${quoted(model)} names no compat upstream`;
  return new GatewayError("not_found", `${what} and this gateway has no unnamed default (providers.compat.upstream); configured names: ${namesList(names)}. Send the model as <name>/<model> on /compat/v1/…, or use /compat/<name>/v1/….`);
}
