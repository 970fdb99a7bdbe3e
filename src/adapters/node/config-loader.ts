import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { orgConfigSchema, type OrgConfig } from "../../config/index.ts";

/**
 * Loads the organisation config from a directory's `gatehouse.yaml`. Errors name the file
 * and the field. (The config-as-code compiler extends this with agents and commands.)
 */
export function loadOrgConfig(dir: string | undefined): OrgConfig {
  if (!dir) return orgConfigSchema.parse({});
  const file = join(dir, "gatehouse.yaml");
  if (!existsSync(file)) throw new Error(`${file}: not found (the config directory needs a gatehouse.yaml).`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: invalid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const result = orgConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${file}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
    throw new Error(`Invalid config:\n${lines.join("\n")}`);
  }
  return result.data;
}
