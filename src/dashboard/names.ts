import type { UsageGroup } from "../ledger/index.ts";

/**
 * How a request without a team is shown, the same in the dashboard, its CSV and the CLI
 * (`gatehouse usage`, `gatehouse mcp audit`): the ledger stores NULL.
 */
export const NO_TEAM = "(no team)";
/** A row written before the gateway recorded the client (migration 012): NULL, never a client. */
export const CLIENT_NOT_RECORDED = "(not recorded)";
/** A request that sent no session id this gateway knows, or one it dropped as malformed. */
export const NO_SESSION = "(no session)";

/** The label of one grouping key of a usage row; team, client and session may be NULL in the ledger. */
export function groupKeyLabel(group: UsageGroup, value: string | null | undefined): string {
  if (value !== null && value !== undefined) return value;
  if (group === "team") return NO_TEAM;
  if (group === "client") return CLIENT_NOT_RECORDED;
  if (group === "session") return NO_SESSION;
  return "";
}
