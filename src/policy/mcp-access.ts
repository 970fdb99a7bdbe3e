import type { Caller } from "../core/caller.ts";
import type { ConfigHolder } from "../config/index.ts";
import type { McpAccessPolicy } from "../mcp/policy.ts";
import { RulesCache } from "./rules.ts";

/**
 * The MCP portal's access policy from `policy.groups.<g>.mcpServers`, read per call so a
 * reloaded policy applies at once. No policy configured: every server. A caller in no
 * configured group (and no default group): none.
 */
export function createMcpAccessPolicy(config: ConfigHolder): McpAccessPolicy {
  const cache = new RulesCache();
  return {
    allowedServers(caller: Caller) {
      const policy = config.current().policy;
      const byGroup = policy ? cache.get(policy, caller.groups).mcpServers : "all";
      return narrowToServiceAccount(caller, byGroup);
    },
  };
}

/** A service account's key sees only the servers in its scope, of those its group may use. */
function narrowToServiceAccount(caller: Caller, byGroup: "all" | ReadonlySet<string>): "all" | ReadonlySet<string> {
  const scope = caller.serviceAccount?.mcpServers;
  if (!scope || scope.includes("*")) return byGroup;
  return new Set(scope.filter((id) => byGroup === "all" || byGroup.has(id)));
}
