import type { Kysely } from "kysely";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { Database } from "../store/index.ts";
import { describeError } from "../core/app.ts";

/**
 * The set of revoked, not yet expired token ids, held in memory and re-read from the store
 * every `pollMs`. Under traffic the re-read runs in the background (the request never waits);
 * after an idle spell longer than twice the interval the next request waits for one re-read,
 * so a revocation takes effect within about `pollMs` whatever the traffic. No timers: the same
 * code runs on Node and Workers.
 */
export class RevocationList {
  private revoked = new Set<string>();
  private refreshedAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly pollMs: number,
  ) {}

  isRevoked(jti: string | undefined): boolean {
    return jti !== undefined && this.revoked.has(jti);
  }

  /** Keeps the list fresh; resolves at once unless the list is too old to trust. */
  async ensureFresh(): Promise<void> {
    const age = this.clock.monotonic() - this.refreshedAt;
    if (age <= this.pollMs) return;
    const refresh = this.refresh();
    if (age > 2 * this.pollMs) await refresh;
  }

  /** Re-reads the list now (also used right after `token revoke` in the same process). */
  refresh(): Promise<void> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async load(): Promise<void> {
    try {
      const rows = await this.db
        .selectFrom("issued_tokens")
        .select("jti")
        .where("revoked_at", "is not", null)
        .where("expires_at", ">", this.clock.now())
        .execute();
      this.revoked = new Set(rows.map((r) => r.jti));
      this.refreshedAt = this.clock.monotonic();
    } catch (err) {
      // Keep the last known list: failing open on revocations beats failing every request,
      // and the error is loud in the log.
      this.logger.error({ err: describeError(err) }, "revocation list refresh failed; keeping the previous list");
      this.refreshedAt = this.clock.monotonic();
    }
  }
}
