import type { UsageGroup } from "../ledger/index.ts";

/**
 * How a request without a team is shown, the same in the dashboard, its CSV and the CLI
 * (`gatehouse usage`, `gatehouse mcp audit`): the ledger stores NULL.
 */
export const NO_TEAM = "(no team)";

/** The label of one grouping key of a usage row; only `team` may be missing in the ledger. */
export function groupKeyLabel(group: UsageGroup, value: string | null | undefined): string {
  if (value !== null && value !== undefined) return value;
  return group === "team" ? NO_TEAM : "";
}
