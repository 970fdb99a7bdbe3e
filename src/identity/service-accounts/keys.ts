import { base64url } from "jose";
import { sha256Base64url } from "../login/codes.ts";

/** Every service-account key starts with this, so a leaked one is recognisable (secret scanners, logs). */
export const SERVICE_ACCOUNT_KEY_PREFIX = "ghsa_";

/** 32 random bytes after the prefix: not guessable, and long enough that a plain hash suffices. */
export function newServiceAccountKey(): string {
  return `${SERVICE_ACCOUNT_KEY_PREFIX}${base64url.encode(crypto.getRandomValues(new Uint8Array(32)))}`;
}

export function isServiceAccountKey(token: string): boolean {
  return token.startsWith(SERVICE_ACCOUNT_KEY_PREFIX);
}

/** What is stored: a random 256-bit key needs no slow hash (there is nothing to brute-force). */
export function hashServiceAccountKey(key: string): Promise<string> {
  return sha256Base64url(key);
}

/** Enough of the key to tell two apart in a list, far too little to use. */
export function keyHint(key: string): string {
  return `${key.slice(0, SERVICE_ACCOUNT_KEY_PREFIX.length + 6)}…`;
}
