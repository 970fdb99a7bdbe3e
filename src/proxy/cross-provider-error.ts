import { GatewayError } from "../core/errors.ts";
import type { ProviderDescriptor } from "../providers/index.ts";
import { crossProviderErrorCode } from "./cross-provider.ts";
import type { ChunkTransform } from "./transport.ts";

/** An error body longer than this is not read for its message (errors are a few hundred bytes). */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** The provider's own message is kept to this length (a diagnosis, not a document). */
const MAX_MESSAGE_CHARS = 500;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A fallback provider's error answer, rewritten into the client provider's error body: the
 * status stays the provider's, the message says who answered and quotes the provider's own
 * message where its body has one (Anthropic's and Google's `error.message`, Bedrock's
 * `message`), so the client sees what to fix in the shape its SDK reads. The body is held
 * until it ends (errors are small; past 64 KiB it is not read).
 */
export function crossProviderErrorBody(status: number, from: ProviderDescriptor, target: ProviderDescriptor, requestedModel: string | undefined, model: string, requestId: string): ChunkTransform {
  const parts: Uint8Array[] = [];
  let size = 0;
  return {
    transform(chunk) {
      if (size + chunk.byteLength <= MAX_ERROR_BODY_BYTES) parts.push(chunk.slice());
      size += chunk.byteLength;
      return new Uint8Array(0);
    },
    flush() {
      const quoted = size <= MAX_ERROR_BODY_BYTES ? providerMessage(parts) : undefined;
      const said = quoted === undefined ? "" : `: ${quoted}`;
      const advice =
        status === 429 || status >= 500 ? " The fallback is unavailable too; retry later." : ` The request is one ${target.displayName} does not take as sent; change it, or ask an administrator to check ${target.id}/${model} in the alias's chain.`;
      const error = new GatewayError(crossProviderErrorCode(status), `${target.displayName}, the fallback for model ${requestedModel ?? model}, answered ${status} for ${model}${said}.${advice}`);
      return encoder.encode(JSON.stringify(from.errorBody(error, requestId)));
    },
  };
}

function providerMessage(parts: readonly Uint8Array[]): string | undefined {
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.byteLength;
  }
  let body: unknown;
  try {
    body = JSON.parse(decoder.decode(bytes));
  } catch (err) {
    // Not JSON (an HTML error page from a proxy): there is no message to quote.
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
  const message = messageOf(body);
  return message === undefined ? undefined : message.replace(/\s+/g, " ").trim().slice(0, MAX_MESSAGE_CHARS) || undefined;
}

function messageOf(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  const error = body["error"];
  if (isRecord(error) && typeof error["message"] === "string") return error["message"];
  for (const key of ["message", "Message"]) if (typeof body[key] === "string") return body[key];
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
