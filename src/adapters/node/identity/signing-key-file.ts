import { existsSync, linkSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { ensurePrivateDir } from "../private-files.ts";
import { dirname, join } from "node:path";
import type { JWK } from "jose";
import type { Settings } from "../../../core/settings.ts";
import { generateSigningJwk, importSigningKey, type SigningKey } from "../../../identity/index.ts";

export function signingKeyPath(settings: Pick<Settings, "signingKeyFile" | "dataDir">): string {
  return settings.signingKeyFile ?? join(settings.dataDir, "signing-key.json");
}

/**
 * Loads Gatehouse's token signing key, generating it on first use (mode 0600; two processes
 * starting at once end up with the same single key). Every process
 * that issues or verifies Gatehouse tokens (server, `gatehouse token issue`) reads this file.
 */
export async function loadOrCreateSigningKey(settings: Pick<Settings, "signingKeyFile" | "dataDir">): Promise<SigningKey> {
  const file = signingKeyPath(settings);
  if (!existsSync(file)) {
    ensurePrivateDir(dirname(file));
    const jwk = await generateSigningJwk();
    // Written whole to a private temp file, then linked into place: link fails if the key
    // exists, so a process starting at the same time reads either nothing or a whole key.
    const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
    try {
      writeFileSync(temp, `${JSON.stringify(jwk)}\n`, { mode: 0o600, flag: "wx" });
      linkSync(temp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new Error(`Cannot write the signing key ${file}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
    } finally {
      rmSync(temp, { force: true });
    }
  }
  let jwk: JWK;
  try {
    jwk = JSON.parse(readFileSync(file, "utf8")) as JWK;
  } catch (err) {
    // Never echo the file: it is a private key.
    throw new Error(`Cannot read the signing key ${file} (${(err as NodeJS.ErrnoException).code ?? "not valid JSON"}).`);
  }
  return importSigningKey(jwk);
}
