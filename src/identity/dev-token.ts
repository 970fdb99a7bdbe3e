import { extractClientToken, type Authenticator, type HeaderReader } from "../core/auth.ts";
import type { Caller } from "../core/caller.ts";
import { GatewayError } from "../core/errors.ts";
import type { AnonymousIds } from "./anonymous-ids.ts";

/** The email the dev token stands for, on Node and on Workers. */
export const DEV_EMAIL = "dev@localhost";

/** The dev token's caller is the laptop's owner: "dev" for policies to name, "admin" so the quickstart opens the dashboard. */
export const DEV_GROUPS: readonly string[] = ["dev", "admin"];

/** The one wording for a request that carries no credential at all, in every mode. */
export function missingTokenError(): GatewayError {
  return new GatewayError("unauthenticated", "Missing gateway token. Send it as cf-access-token, Authorization: Bearer, x-api-key or x-goog-api-key.");
}

/** The one wording for a presented token that is not the dev token (and not a signed token either): it says nothing about how close it came. */
export function invalidDevTokenError(): GatewayError {
  return new GatewayError("unauthenticated", "Invalid gateway token.");
}

/**
 * Dev mode's static tokens (the configured or generated dev token) and the email each stands
 * for. A presented token is compared by its SHA-256 digest against every known digest, all of
 * them, in constant time: neither the position of the first wrong byte, nor the length, nor
 * which entry matched shows in the timing. Web Crypto, so Node and Workers run this same code.
 */
export class DevTokens {
  private readonly digests: Promise<ReadonlyArray<{ digest: Uint8Array; email: string }>>;

  constructor(tokens: ReadonlyMap<string, string>) {
    for (const token of tokens.keys()) {
      // An empty or short token would be guessed; GATEHOUSE_DEV_TOKEN is held to 16 by the settings schema, the file is checked here.
      if (token.length < 16) throw new Error("The dev token must be at least 16 characters: set GATEHOUSE_DEV_TOKEN, or delete the data directory's dev-token file to have one generated.");
    }
    this.digests = Promise.all([...tokens].map(async ([token, email]) => ({ digest: await sha256(token), email })));
  }

  /** The email the token stands for, or undefined when it is none of them. */
  async emailFor(presented: string): Promise<string | undefined> {
    const digest = await sha256(presented);
    let match: string | undefined;
    // No early exit: every entry is compared whatever matched.
    for (const entry of await this.digests) if (equalDigests(digest, entry.digest) && match === undefined) match = entry.email;
    return match;
  }
}

/** The caller a dev token stands for: the anonymous id of its email (created on first use). */
export async function devCaller(email: string, anonymousIds: AnonymousIds): Promise<Caller> {
  const id = await anonymousIds.idFor(email);
  return { id, email, groups: [...DEV_GROUPS], team: DEV_GROUPS[0], tokenId: undefined };
}

/**
 * Dev mode with the dev token as the only way in (Workers: a Worker has no signing key).
 * Node's dev mode also accepts Gatehouse-signed tokens and checks the dev token inside
 * JwtAuthenticator with the same DevTokens and the same refusals.
 */
export class DevTokenAuthenticator implements Authenticator {
  constructor(
    private readonly tokens: DevTokens,
    private readonly anonymousIds: AnonymousIds,
  ) {}

  async authenticate(headers: HeaderReader): Promise<Caller> {
    const presented = extractClientToken(headers);
    if (!presented) throw missingTokenError();
    const email = await this.tokens.emailFor(presented);
    if (email === undefined) throw invalidDevTokenError();
    return devCaller(email, this.anonymousIds);
  }
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** Both are SHA-256 digests (32 bytes): every byte is compared. */
function equalDigests(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
