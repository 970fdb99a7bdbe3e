/**
 * The signature of a "signed" webhook: `x-gatehouse-signature: t=<unix seconds>,v1=<hex>`,
 * where v1 = HMAC-SHA256(secret, `${t}.${raw body}`). A receiver recomputes it over the raw
 * body bytes, compares in constant time, and refuses a `t` outside its replay window
 * (default 300 s); the `idempotency-key` header (the event id) drops a repeat inside it.
 * Web Crypto only: the same code runs on Node and Workers, and in receivers' tests.
 */
export const SIGNATURE_HEADER = "x-gatehouse-signature";
export const DEFAULT_REPLAY_WINDOW_SECONDS = 300;

const encoder = new TextEncoder();

async function hmacHex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
  return [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The header value for `body` sent at `nowMs`. */
export async function signWebhook(secret: string, body: string, nowMs: number): Promise<string> {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${await hmacHex(secret, `${t}.${body}`)}`;
}

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: string };

/** What a receiver runs: parses the header, checks the replay window and the MAC (constant-time). */
export async function verifyWebhookSignature(secret: string, header: string | null | undefined, body: string, nowMs: number, windowSeconds = DEFAULT_REPLAY_WINDOW_SECONDS): Promise<SignatureCheck> {
  if (!header) return { ok: false, reason: `no ${SIGNATURE_HEADER} header` };
  const parts = new Map<string, string[]>();
  for (const item of header.split(",")) {
    const eq = item.indexOf("=");
    if (eq <= 0) continue;
    const name = item.slice(0, eq).trim();
    parts.set(name, [...(parts.get(name) ?? []), item.slice(eq + 1).trim()]);
  }
  const t = Number(parts.get("t")?.[0]);
  if (!Number.isInteger(t)) return { ok: false, reason: "no timestamp (t=)" };
  if (Math.abs(nowMs / 1000 - t) > windowSeconds) return { ok: false, reason: `timestamp outside the ${windowSeconds}s replay window` };
  const expected = await hmacHex(secret, `${t}.${body}`);
  // Several v1= are allowed (a receiver rotating secrets sees one per secret); one must match.
  for (const candidate of parts.get("v1") ?? []) if (constantTimeEqual(candidate, expected)) return { ok: true, timestamp: t };
  return { ok: false, reason: "signature does not match" };
}

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
