import type { Kysely } from "kysely";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { Database } from "../store/index.ts";
import { describeError } from "../core/app.ts";
import { normalizeEmail } from "./anonymous-ids.ts";

/** What a verified token says about itself, for revocation by subject, email or id. */
export interface TokenFacts {
  jti?: string | undefined;
  sub?: string | undefined;
  email?: string | undefined;
  /** The groups the token carries (its groups claim), for revocation by group. */
  groups?: readonly string[] | undefined;
  /** Epoch ms of `iat`; a token without one is treated as issued before any revocation. */
  issuedAt?: number | undefined;
}

/**
 * The set of revoked, not yet expired token ids, held in memory and re-read from the store
 * every `pollMs`. Under traffic the re-read runs in the background (the request never waits);
 * after an idle spell longer than twice the interval the next request waits for one re-read,
 * so a revocation takes effect within about `pollMs` whatever the traffic. No timers: the same
 * code runs on Node and Workers.
 */
export class RevocationList {
  private revoked = new Set<string>();
  /** `kind:value` → the latest revocation time (identity_revocations). */
  private subjects = new Map<string, number>();
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

  /** A Gatehouse token revoked by id, or any token whose id, subject, email or one of whose groups was revoked after it was issued. */
  revokes(facts: TokenFacts): boolean {
    if (this.isRevoked(facts.jti)) return true;
    if (this.subjects.size === 0) return false;
    if (facts.jti !== undefined && this.subjects.has(`jti:${facts.jti}`)) return true;
    const issuedAt = facts.issuedAt ?? Number.NEGATIVE_INFINITY;
    const after = (key: string) => {
      const at = this.subjects.get(key);
      return at !== undefined && issuedAt <= at;
    };
    return (facts.sub !== undefined && after(`sub:${facts.sub}`)) || (facts.email !== undefined && after(`email:${normalizeEmail(facts.email)}`)) || (facts.groups !== undefined && facts.groups.some((g) => after(`group:${g}`)));
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
      const rows = await this.db.selectFrom("issued_tokens").select("jti").where("revoked_at", "is not", null).where("expires_at", ">", this.clock.now()).execute();
      const subjects = await this.db.selectFrom("identity_revocations").select(["kind", "value", "revoked_at"]).execute();
      const latest = new Map<string, number>();
      for (const s of subjects) {
        const key = `${s.kind}:${s.value}`;
        latest.set(key, Math.max(latest.get(key) ?? Number.NEGATIVE_INFINITY, Number(s.revoked_at)));
      }
      this.revoked = new Set(rows.map((r) => r.jti));
      this.subjects = latest;
      this.refreshedAt = this.clock.monotonic();
    } catch (err) {
      // Keep the last known list: failing open on revocations beats failing every request,
      // and the error is loud in the log.
      this.logger.error({ err: describeError(err) }, "revocation list refresh failed; keeping the previous list");
      this.refreshedAt = this.clock.monotonic();
    }
  }
}
