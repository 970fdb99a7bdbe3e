import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs";

/**
 * The data directory holds the email → anonymous id table, the signing key and the dev
 * token: only the gateway's user may read it. Directories are 0700, files 0600, also when
 * they already existed with looser modes (an older Gatehouse created them 0755/0644).
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** Creates the file empty if it is missing, and makes it 0600; SQLite's -wal and -shm files take the database file's mode. */
export function ensurePrivateFile(file: string): void {
  if (!existsSync(file)) closeSync(openSync(file, "a", 0o600));
  chmodSync(file, 0o600);
}
