import { orgConfigSchema, type OrgConfig } from "../../config/index.ts";
import { loadConfigDirectory } from "./identity/config-dir.ts";

/**
 * The organisation config for a directory (compiled: gatehouse.yaml, agents/, commands/),
 * or the empty default without one. Errors name file, line and field.
 */
export function loadOrgConfig(dir: string | undefined): OrgConfig {
  return dir ? loadConfigDirectory(dir) : orgConfigSchema.parse({});
}
