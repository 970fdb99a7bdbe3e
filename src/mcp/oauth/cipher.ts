/**
 * AES-256-GCM for upstream tokens at rest. The key is derived (HKDF-SHA-256) from a secret
 * the operator sets, so the database alone never reveals a token. Web Crypto only.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class TokenCipher {
  private readonly key: Promise<CryptoKey>;

  constructor(secret: string) {
    if (secret.length < 32) throw new Error("The MCP token encryption secret must be at least 32 characters.");
    this.key = (async () => {
      const material = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey({ name: "HKDF", hash: "SHA-256", salt: encoder.encode("gatehouse-mcp-oauth-tokens"), info: encoder.encode("v1") }, material, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    })();
  }

  /** `base64url(iv ‖ ciphertext)`; the associated data binds a row to its (server, user). */
  async encrypt(plaintext: string, associatedData: string): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(associatedData) }, await this.key, encoder.encode(plaintext)));
    const out = new Uint8Array(iv.length + sealed.length);
    out.set(iv);
    out.set(sealed, iv.length);
    return toBase64Url(out);
  }

  /** Throws when the ciphertext was tampered with, moved to another row, or sealed with another key. */
  async decrypt(ciphertext: string, associatedData: string): Promise<string> {
    const bytes = fromBase64Url(ciphertext);
    const opened = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(0, 12), additionalData: encoder.encode(associatedData) }, await this.key, bytes.slice(12));
    return decoder.decode(opened);
  }
}

export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64Url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
