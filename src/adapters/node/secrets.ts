import { readFileSync } from "node:fs";
import { z } from "zod";
import type { SecretSource } from "../../core/deps.ts";

const secretsFileSchema = z.record(z.string(), z.string());

/**
 * Provider keys from the environment, then from an optional JSON secrets file. The file's
 * contents are never echoed in errors (a parse error names the file only).
 */
export function loadSecrets(env: Record<string, string | undefined>, file: string | undefined): SecretSource {
  let fromFile: Record<string, string> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new Error(`Cannot read secrets file ${file}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`Secrets file ${file} is not valid JSON.`);
    }
    const parsed = secretsFileSchema.safeParse(json);
    if (!parsed.success) throw new Error(`Secrets file ${file} must be a JSON object of string values.`);
    fromFile = parsed.data;
  }
  // Looked up per request; reading process.env goes through a native getter each time.
  const resolved = new Map<string, string | undefined>();
  return {
    get(name: string): string | undefined {
      if (resolved.has(name)) return resolved.get(name);
      const value = env[name] || fromFile[name] || undefined;
      resolved.set(name, value);
      return value;
    },
  };
}
