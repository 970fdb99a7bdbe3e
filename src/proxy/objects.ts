import type { Caller } from "../core/caller.ts";
import { GatewayError } from "../core/errors.ts";
import type { UpstreamProviderConfig } from "../config/index.ts";
import { ENABLEABLE_OBJECT_KINDS, type JsonObject, type ProviderDescriptor, type RequestShape } from "../providers/index.ts";
import { CappedBody } from "../usage/index.ts";
import type { ObjectOwnership } from "./object-ownership.ts";
import type { ChunkTransform, ResponseTap } from "./transport.ts";

/** What the proxy must do around one request to a provider-side object. */
export interface ObjectPlan {
  /** Wraps the response tap: records a created object's owner, forgets a deleted one. */
  wrapTap(tap: ResponseTap): ResponseTap;
  /** Rewrites a list answer so it holds only the caller's objects (undefined: unfiltered, for admins). */
  transform: ChunkTransform | undefined;
}

const CREATE_ANSWER_LIMIT = 1024 * 1024;
const LIST_ANSWER_LIMIT = 16 * 1024 * 1024;

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Decides whether a request to a provider-side object may go out, and how its answer is
 * handled. Object kinds are refused unless the org enables them; a caller reaches only
 * the objects it created (an admin group reaches all); another caller's object is "not
 * found", so ids cannot be probed.
 */
export async function planObjectAccess(provider: ProviderDescriptor, config: UpstreamProviderConfig, shape: RequestShape, body: JsonObject | undefined, caller: Caller, ownership: ObjectOwnership): Promise<ObjectPlan | undefined> {
  const object = shape.object;
  if (!object) return undefined;
  const allowed = (config.objects.allow as readonly string[]).includes(object.kind);
  if (!allowed || !provider.ownsObjects) {
    const how = provider.ownsObjects && (ENABLEABLE_OBJECT_KINDS as readonly string[]).includes(object.kind) ? ` An administrator can enable them under providers.${provider.id}.objects.allow (docs/security.md).` : "";
    throw new GatewayError("forbidden", `${object.kind.replace("_", " ")} are provider-side objects kept under the organisation's key; this gateway does not serve them.${how}`);
  }
  // A service account owned by an admin group is still not an object admin: it sees its own objects.
  const admin = !caller.serviceAccount && caller.groups.some((g) => config.objects.adminGroups.includes(g));
  const owns = async (kind: string, id: string): Promise<boolean> => admin || (await ownership.ownerOf(provider.id, kind, id)) === caller.id;

  if (object.action === "create") {
    // A batch reads a file: only the file's owner may run one over it.
    const inputFile = body?.["input_file_id"];
    if (object.kind === "batches" && typeof inputFile === "string" && !(await owns("files", inputFile))) throw new GatewayError("not_found", `No file ${inputFile} of yours exists on this gateway.`);
    return { wrapTap: (tap) => recordingTap(tap, (id) => ownership.record(provider.id, object.kind, id, caller.id)), transform: undefined };
  }
  if (object.action === "list") {
    if (admin) return { wrapTap: (tap) => tap, transform: undefined };
    return { wrapTap: (tap) => tap, transform: listFilter(await ownership.ownedBy(provider.id, object.kind, caller.id)) };
  }
  if (object.id === undefined || !(await owns(object.kind, object.id))) throw new GatewayError("not_found", `No ${object.kind.replace(/s$/, "").replace("_", " ")} ${object.id ?? ""} of yours exists on this gateway.`);
  const id = object.id;
  if (object.action === "delete") return { wrapTap: (tap) => succeededTap(tap, () => ownership.forget(provider.id, object.kind, id)), transform: undefined };
  return { wrapTap: (tap) => tap, transform: undefined };
}

/** Reads the created object's `id` from a 2xx JSON answer as it passes. */
function recordingTap(tap: ResponseTap, record: (id: string) => void): ResponseTap {
  const answer = new CappedBody(CREATE_ANSWER_LIMIT, 0);
  let status = 0;
  return {
    onResponse(s) {
      status = s;
      tap.onResponse(s);
    },
    onChunk(chunk) {
      answer.push(chunk);
      tap.onChunk(chunk);
    },
    onEnd(outcome, failure) {
      if (status >= 200 && status < 300 && !answer.truncated) {
        const id = idOf(answer.text());
        if (id !== undefined) record(id);
      }
      tap.onEnd(outcome, failure);
    },
  };
}

function idOf(text: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
  return isObject(parsed) && typeof parsed["id"] === "string" ? parsed["id"] : undefined;
}

function succeededTap(tap: ResponseTap, onSuccess: () => void): ResponseTap {
  let status = 0;
  return {
    onResponse(s) {
      status = s;
      tap.onResponse(s);
    },
    onChunk: (chunk) => tap.onChunk(chunk),
    onEnd(outcome, failure) {
      if (status >= 200 && status < 300) onSuccess();
      tap.onEnd(outcome, failure);
    },
  };
}

const encoder = new TextEncoder();

/**
 * Holds a list answer and lets out only the caller's objects. Paging fields stay as the
 * upstream sent them (`last_id` pages on through objects the caller cannot see). An answer
 * that does not parse or is too large becomes an empty list: never the unfiltered one.
 */
function listFilter(owned: ReadonlySet<string>): ChunkTransform {
  const answer = new CappedBody(LIST_ANSWER_LIMIT, 0);
  const empty = new Uint8Array(0);
  return {
    transform(chunk) {
      answer.push(chunk);
      return empty;
    },
    flush() {
      let parsed: unknown;
      try {
        parsed = answer.truncated ? undefined : JSON.parse(answer.text());
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
      }
      const list = isObject(parsed) ? parsed : {};
      const data = Array.isArray(list["data"]) ? list["data"] : [];
      const mine = data.filter((item: unknown) => isObject(item) && typeof item["id"] === "string" && owned.has(item["id"]));
      const first = mine[0] as JsonObject | undefined;
      const filtered: JsonObject = { ...list, data: mine, first_id: first?.["id"] ?? null };
      if (!isObject(parsed)) filtered["has_more"] = false;
      return encoder.encode(JSON.stringify(filtered));
    },
  };
}

/**
 * OpenAI keeps conversation state at the provider when asked (`store`, `background`,
 * `previous_response_id`, `conversation`); under one org key that state would be readable
 * by every caller. Stored responses and completions are not a kind an org can enable yet,
 * so requests that would create or read such state are refused, and Responses (which
 * stores by default) is sent with `store: false`. Returns true when the body changed.
 */
export function keepStateless(shape: RequestShape, body: JsonObject | undefined): boolean {
  if (!shape.conversationState || !body) return false;
  const hint = "This gateway keeps no conversation state at the provider (one organisation key is shared by every caller): send the whole conversation with store: false.";
  if (body["store"] === true) throw new GatewayError("forbidden", `"store": true is not accepted. ${hint}`);
  if (shape.conversationState !== "stored-by-default") return false;
  for (const field of ["previous_response_id", "conversation"]) {
    if (body[field] !== undefined && body[field] !== null) throw new GatewayError("forbidden", `"${field}" is not accepted. ${hint}`);
  }
  if (body["background"] === true) throw new GatewayError("forbidden", `"background": true needs a stored response, which is not accepted. ${hint}`);
  if (body["store"] === false) return false;
  body["store"] = false;
  return true;
}
