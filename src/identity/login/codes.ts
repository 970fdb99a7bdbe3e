import { base64url } from "jose";

// No 0/O, 1/I/L, 5/S: a user code is read off a terminal and checked by eye.
const USER_CODE_ALPHABET = "ABCDEFGHJKMNPQRTUVWXYZ2346789";

export function randomToken(bytes = 32): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** Eight characters as XXXX-XXXX (about 39 bits); single-use and short-lived. */
export function randomUserCode(): string {
  const picks = crypto.getRandomValues(new Uint8Array(8));
  const chars = Array.from(picks, (b) => USER_CODE_ALPHABET[b % USER_CODE_ALPHABET.length]);
  return `${chars.slice(0, 4).join("")}-${chars.slice(4).join("")}`;
}

/** Accepts codes typed in lower case, without the dash or with spaces. */
export function normalizeUserCode(input: string): string {
  const compact = input.toUpperCase().replace(/[^A-Z0-9]/g, "");
  return compact.length === 8 ? `${compact.slice(0, 4)}-${compact.slice(4)}` : compact;
}

export async function sha256Base64url(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return base64url.encode(new Uint8Array(digest));
}

/** RFC 7636 S256 challenge for a code verifier. */
export function pkceChallenge(verifier: string): Promise<string> {
  return sha256Base64url(verifier);
}
