import type { Kysely } from "kysely";
import type { Clock } from "../core/clock.ts";
import type { Database } from "../store/index.ts";

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
 */
export class AnonymousIds {
  private readonly byEmail = new Map<string, string>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly maxCached = 100_000,
    private readonly shared?: SharedAnonymousIdCache,
  ) {}

  async idFor(email: string): Promise<string> {
    const key = normalizeEmail(email);
    const cached = this.byEmail.get(key);
    if (cached) return cached;
    const fromShared = await this.shared?.get(key);
    if (fromShared) {
      this.remember(key, fromShared);
      return fromShared;
    }
    const existing = await this.lookup(key);
    const id = existing ?? (await this.create(key));
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
