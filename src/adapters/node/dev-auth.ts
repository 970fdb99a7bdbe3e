import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { ensurePrivateDir } from "./private-files.ts";
import { join } from "node:path";
import type { Settings } from "../../core/settings.ts";

/**
 * The dev-mode token: from settings, else generated once into the data dir (mode 0600) so
 * `npm start` works on a fresh clone and the token survives restarts.
 */
export function resolveDevToken(settings: Settings): { token: string; generated: boolean } {
  if (settings.devToken) return { token: settings.devToken, generated: false };
  const file = join(settings.dataDir, "dev-token");
  if (existsSync(file)) return { token: readFileSync(file, "utf8").trim(), generated: false };
  ensurePrivateDir(settings.dataDir);
  const token = `gh_dev_${randomBytes(24).toString("base64url")}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, generated: true };
}
