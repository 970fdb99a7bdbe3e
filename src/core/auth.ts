import type { Caller } from "./caller.ts";

/**
 * The seam between the gateway and identity. The core only needs "headers in, caller out";
 * identity/ supplies the implementations (JWT, OIDC login, the dev token).
 */
export interface Authenticator {
  authenticate(headers: HeaderReader): Promise<Caller>;
}

export interface HeaderReader {
  get(name: string): string | null | undefined;
}

/**
 * Every header a client may put its gateway token in, so OpenCode (`cf-access-token`),
 * Claude Code (`x-api-key`), Codex CLI and OpenAI SDKs (`authorization`) and the Gemini
 * SDK (`x-goog-api-key`) and Azure OpenAI clients (`api-key`) all work. Whichever carries
 * it is stripped before forwarding.
 */
export const CLIENT_CREDENTIAL_HEADERS = ["cf-access-token", "cf-access-jwt-assertion", "authorization", "x-api-key", "x-goog-api-key", "api-key"] as const;

/** First non-empty credential, in the order above. Empty values (OpenCode sends `x-api-key: ""`) are skipped. */
export function extractClientToken(headers: HeaderReader, extraHeader?: string): string | undefined {
  const names = extraHeader ? [extraHeader, ...CLIENT_CREDENTIAL_HEADERS] : CLIENT_CREDENTIAL_HEADERS;
  for (const name of names) {
    const raw = headers.get(name);
    if (!raw) continue;
    const value = name === "authorization" ? stripBearer(raw) : raw.trim();
    if (value) return value;
  }
  return undefined;
}

function stripBearer(value: string): string {
  const trimmed = value.trim();
  // A bare "Bearer" (an empty token; HTTP strips the space after it) carries no credential.
  return /^bearer(\s+|$)/i.test(trimmed) ? trimmed.replace(/^bearer(\s+|$)/i, "").trim() : trimmed;
}

/** Constant-time comparison so a wrong token's timing does not reveal the right one. */
export function timingSafeEqualText(a: string, b: string): boolean {
  const enc = new TextEncoder();
  const x = enc.encode(a);
  const y = enc.encode(b);
  let diff = x.length ^ y.length;
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
