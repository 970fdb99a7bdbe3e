import type { Caller } from "../core/caller.ts";

/**
 * Who may see and call what. Governance supplies the real policy (group allow-lists);
 * the portal asks it for every list and every call, so a changed policy applies at once.
 */
export interface McpAccessPolicy {
  /** Servers the caller may use: "all" or the set of server ids. */
  allowedServers(caller: Caller): "all" | ReadonlySet<string>;
  /** Tools (upstream names, without prefix) of one server the caller may use; absent = all of the server's tools. */
  allowedTools?(caller: Caller, serverId: string): "all" | ReadonlySet<string>;
}

export const allowAllPolicy: McpAccessPolicy = {
  allowedServers: () => "all",
};

export function serverAllowed(policy: McpAccessPolicy, caller: Caller, serverId: string): boolean {
  const allowed = policy.allowedServers(caller);
  return allowed === "all" || allowed.has(serverId);
}

export function toolAllowed(policy: McpAccessPolicy, caller: Caller, serverId: string, tool: string): boolean {
  if (!serverAllowed(policy, caller, serverId)) return false;
  const tools = policy.allowedTools?.(caller, serverId) ?? "all";
  return tools === "all" || tools.has(tool);
}

/**
 * A simple group-based policy: `{ group: [serverIds] }`, "*" meaning every server. Useful
 * on its own and as the shape governance compiles to.
 */
export function groupAllowListPolicy(serversByGroup: Readonly<Record<string, readonly string[]>>): McpAccessPolicy {
  return {
    allowedServers(caller) {
      const allowed = new Set<string>();
      for (const group of caller.groups) {
        const servers = serversByGroup[group];
        if (!servers) continue;
        if (servers.includes("*")) return "all";
        for (const server of servers) allowed.add(server);
      }
      return allowed;
    },
  };
}
