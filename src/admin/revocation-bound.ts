import type { Settings } from "../core/settings.ts";

/**
 * How long after a revocation every instance refuses the revoked token or key: each re-reads
 * the revocation list (and a cached key) from the store once it is older than
 * GATEHOUSE_REVOCATION_POLL_MS; a read that was already under way when the revocation landed
 * can miss it, so the bound is two intervals (docs/admin.md#revocation-bound).
 */
export function revocationBoundMs(settings: Pick<Settings, "revocationPollMs">): number {
  return 2 * settings.revocationPollMs;
}
