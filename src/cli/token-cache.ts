import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";

/**
 * The gateway tokens `gatehouse login` obtained, per gateway, in
 * `$XDG_CONFIG_HOME/gatehouse/tokens.json` (default `~/.config/gatehouse/tokens.json`), mode
 * 0600: what `gatehouse login --print-token` prints for a client's key helper (Claude Code's
 * apiKeyHelper, Codex's provider auth command) without a new sign-in. Holds Gatehouse tokens
 * only, never a provider key.
 */
const cacheSchema = z.record(z.string(), z.object({ token: z.string().min(1), expiresAt: z.number() }));
type Cache = z.infer<typeof cacheSchema>;

/** A token is handed out only while it has at least this long left: a client must not start a turn with a token about to expire. */
export const MIN_REMAINING_MS = 60_000;

export function tokenCacheFile(env: NodeJS.ProcessEnv = process.env): string {
  const configHome = env["XDG_CONFIG_HOME"] || join(env["HOME"] || homedir(), ".config");
  return join(configHome, "gatehouse", "tokens.json");
}

/** The cache key: the gateway's origin and path without a trailing slash. */
export const gatewayKey = (url: string): string => url.replace(/\/+$/, "");

function read(file: string): Cache {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON; delete it and run \`gatehouse login <url>\` again`, { cause: err });
  }
  const result = cacheSchema.safeParse(parsed);
  if (!result.success) throw new Error(`${file} is not a Gatehouse token cache; delete it and run \`gatehouse login <url>\` again`);
  return result.data;
}

/** The cached token for this gateway when it has at least MIN_REMAINING_MS left; undefined otherwise. */
export function cachedToken(url: string, now = Date.now(), file = tokenCacheFile()): { token: string; expiresAt: number } | undefined {
  const entry = read(file)[gatewayKey(url)];
  return entry && entry.expiresAt - now >= MIN_REMAINING_MS ? entry : undefined;
}

/** Stores a token (written to a temp file and renamed, 0600, so a concurrent reader never sees half a file). */
export function storeToken(url: string, token: string, expiresAt: number, file = tokenCacheFile()): void {
  const cache = read(file);
  cache[gatewayKey(url)] = { token, expiresAt };
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(cache, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, file);
}

/** When a JWT expires (its `exp` claim), read without verifying: the gateway verifies; this only decides whether to hand it out. */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { exp?: unknown };
    return typeof claims.exp === "number" ? claims.exp * 1000 : undefined;
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}
