import { hostname, userInfo } from "node:os";
import packageJson from "../../package.json" with { type: "json" };
import type { AdminContext } from "../identity/index.ts";

/** Who runs an admin command, and from where, for the admin audit log: the OS user on this host. */
export function cliAdminContext(): AdminContext {
  const user = userInfo().username;
  return { actor: { kind: "cli", id: user, name: `cli:${user}` }, via: "cli", userAgent: `gatehouse-cli/${packageJson.version} (${hostname()})` };
}
