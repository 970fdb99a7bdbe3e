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
      if (!policy) return "all";
      return cache.get(policy, caller.groups).mcpServers;
    },
  };
}
