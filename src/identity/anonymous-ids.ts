import type { Kysely } from "kysely";
import type { Clock } from "../core/clock.ts";
import { describeError } from "../core/app.ts";
import { GatewayError } from "../core/errors.ts";
import { LogThrottle } from "../core/log-throttle.ts";
import { silentLogger, type Logger } from "../core/logger.ts";
import type { Database } from "../store/index.ts";

/** retry-after of the 503 for a caller whose id cannot be created while the store is down. */
export const STORE_DOWN_RETRY_SECONDS = 5;

/** Emails are compared case-insensitively: `Alice@Example.com` and `alice@example.com` are one person. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * A cache shared by every instance or isolate (Workers: KV), in front of the database. Never
 * the truth: the database's insert-or-select on the unique email decides the id, and a miss
 * falls through to it. An email's id never changes, so a cached entry never goes stale.
 * Implementations handle their own failures (a failed read is a miss).
 */
export interface SharedAnonymousIdCache {
  get(email: string): Promise<string | undefined>;
  put(email: string, id: string): Promise<void>;
}

/**
 * Maps each verified email to a random UUID, created once and stored (unique, stable across
 * restarts and instances). Upstreams and the ledger only ever see the UUID. Lookups are
 * cached in memory: a known email costs no database round trip. With a `shared` cache, an
 * email this process has not seen yet is looked up there before the database.
 *
 * A caller first seen while the store cannot be read or written is refused with a 503 (the
 * provider's shape, retry-after) and one log line per window, not a 500 per request: an id
 * made up in memory could differ from the one another instance stores for the same email,
 * and the caller's spend would then be split over two ids (fail closed). Callers already
 * known to this process are unaffected.
 */
export class AnonymousIds {
  private readonly byEmail = new Map<string, string>();
  private readonly log: LogThrottle;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly maxCached = 100_000,
    private readonly shared?: SharedAnonymousIdCache,
    logger: Logger = silentLogger,
  ) {
    this.log = new LogThrottle(logger, () => clock.now());
  }

  async idFor(email: string): Promise<string> {
    const key = normalizeEmail(email);
    const cached = this.byEmail.get(key);
    if (cached) return cached;
    const fromShared = await this.shared?.get(key);
    if (fromShared) {
      this.remember(key, fromShared);
      return fromShared;
    }
    let id: string;
    try {
      const existing = await this.lookup(key);
      id = existing ?? (await this.create(key));
    } catch (err) {
      this.log.error({ err: describeError(err) }, "cannot read or create an anonymous id: the store is failing; new callers get 503 until it is back");
      throw new GatewayError("store_unavailable", `The gateway cannot reach its identity store to register you, so it refuses the request. Retry in ${STORE_DOWN_RETRY_SECONDS}s.`, {
        retryAfterSeconds: STORE_DOWN_RETRY_SECONDS,
        cause: err,
      });
    }
    this.remember(key, id);
    await this.shared?.put(key, id);
    return id;
  }

  /** Admin-only: the email behind an id. Callers must audit (see resolve.ts). */
  async emailFor(id: string): Promise<string | undefined> {
    const row = await this.db.selectFrom("identities").select("email").where("id", "=", id).executeTakeFirst();
    return row?.email;
  }

  private async lookup(email: string): Promise<string | undefined> {
    const row = await this.db.selectFrom("identities").select("id").where("email", "=", email).executeTakeFirst();
    return row?.id;
  }

  private async create(email: string): Promise<string> {
    // Two instances may see a new email at once: the unique email wins once, both read it back.
    await this.db
      .insertInto("identities")
      .values({ id: crypto.randomUUID(), email, created_at: this.clock.now() })
      .onConflict((oc) => oc.column("email").doNothing())
      .execute();
    const id = await this.lookup(email);
    if (!id) throw new Error("anonymous id was not stored");
    return id;
  }

  private remember(email: string, id: string): void {
    if (this.byEmail.size >= this.maxCached) {
      const oldest = this.byEmail.keys().next().value;
      if (oldest !== undefined) this.byEmail.delete(oldest);
    }
    this.byEmail.set(email, id);
  }
}
