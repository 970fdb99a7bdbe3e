import { sql, type Kysely } from "kysely";
import type { Clock } from "../../../core/clock.ts";
import type { Logger } from "../../../core/logger.ts";
import { describeError } from "../../../core/app.ts";
import type { BudgetClaim, CounterStore, Reservation, ReserveOutcome } from "../../../policy/counters.ts";
import type { Database } from "../../../store/index.ts";

export interface PostgresCounterOptions {
  clock: Clock;
  logger: Logger;
  /**
   * How long a reservation counts if it is never settled (its instance died mid-request).
   * Longer than the longest request; the default is an hour.
   */
  reservationTtlMs?: number;
}

/** The reservation carries its row id, so any instance can settle it. */
interface SharedReservation extends Reservation {
  readonly rowId: string;
}

// Same tolerance as the in-memory store: an exact fit (50 x $0.02 in $1.00) is admitted.
const EPSILON = 1e-9;

/**
 * Exact budget counters shared by every instance through PostgreSQL. A reservation is one
 * transaction that locks the counter rows of every key it claims (in key order, so two
 * reservations never deadlock), sums the outstanding reservations, checks every limit and
 * inserts its reservation rows: the same all-or-nothing contract as the in-memory store,
 * across processes. A reservation whose instance dies expires after `reservationTtlMs`
 * instead of holding budget forever. `used` answers from what this instance last saw.
 */
export class PostgresCounterStore implements CounterStore {
  private readonly seen = new Map<string, number>();
  private readonly ttlMs: number;
  private reservationSeq = 1;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: PostgresCounterOptions,
  ) {
    this.ttlMs = options.reservationTtlMs ?? 3_600_000;
  }

  async reserve(claims: readonly BudgetClaim[], amountUsd: number): Promise<ReserveOutcome> {
    const now = this.options.clock.now();
    const keys = [...new Set(claims.map((c) => c.key))].sort();
    if (keys.length === 0) return { ok: true, reservation: this.reservation(crypto.randomUUID(), [], amountUsd) };
    const rowId = crypto.randomUUID();
    return this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto("budget_counters")
        .values(keys.map((key) => ({ key, settled_usd: 0, updated_at: now })))
        .onConflict((oc) => oc.column("key").doNothing())
        .execute();
      const counters = await trx.selectFrom("budget_counters").select(["key", "settled_usd"]).where("key", "in", keys).orderBy("key").forUpdate().execute();
      const reserved = await trx
        .selectFrom("budget_reservations")
        .select(["key", (eb) => eb.fn.sum<number>("amount_usd").as("total")])
        .where("key", "in", keys)
        .where("expires_at", ">", now)
        .groupBy("key")
        .execute();
      const used = new Map<string, number>();
      for (const row of counters) used.set(row.key, row.settled_usd);
      for (const row of reserved) used.set(row.key, (used.get(row.key) ?? 0) + Number(row.total));
      for (const [key, value] of used) this.seen.set(key, value);

      for (const claim of claims) {
        const value = used.get(claim.key) ?? 0;
        if (value >= claim.limitUsd - EPSILON || value + amountUsd > claim.limitUsd + EPSILON) return { ok: false as const, claim, usedUsd: value };
      }
      await trx
        .insertInto("budget_reservations")
        .values(keys.map((key) => ({ id: rowId, key, amount_usd: amountUsd, expires_at: now + this.ttlMs })))
        .execute();
      for (const key of keys) this.seen.set(key, (used.get(key) ?? 0) + amountUsd);
      return { ok: true as const, reservation: this.reservation(rowId, keys, amountUsd) };
    });
  }

  async settle(reservation: Reservation, actualUsd: number): Promise<void> {
    const rowId = (reservation as Partial<SharedReservation>).rowId;
    if (reservation.keys.length === 0) return;
    const now = this.options.clock.now();
    try {
      await this.db.transaction().execute(async (trx) => {
        if (rowId) await trx.deleteFrom("budget_reservations").where("id", "=", rowId).execute();
        // Even when the reservation expired meanwhile, the real cost still counts.
        if (actualUsd > 0) {
          await trx
            .updateTable("budget_counters")
            .set({ settled_usd: sql<number>`settled_usd + ${actualUsd}`, updated_at: now })
            .where("key", "in", [...reservation.keys])
            .execute();
        }
      });
      for (const key of reservation.keys) this.seen.set(key, Math.max(0, (this.seen.get(key) ?? 0) - reservation.amountUsd + actualUsd));
    } catch (err) {
      // The request is over; a lost settle leaves the reservation to expire and undercounts
      // the real cost, which the ledger reconciliation brings back.
      this.options.logger.error({ err: describeError(err), keys: reservation.keys.length }, "budget settle failed");
    }
  }

  /**
   * Raises counters to the ledger's totals, except for keys with an outstanding reservation.
   * A request's ledger row can be flushed (by any instance) before its settle has added the
   * same cost to the counter; raising the counter to a total that already holds that cost and
   * then settling would count it twice. Settle deletes the reservation and adds the cost in
   * one transaction, and this statement checks for reservations under the counter row's lock,
   * so a key without one has every flushed cost settled (or lost, and then its reservation has
   * expired): raising it is safe. Keys with traffic in flight are caught up at a later run.
   */
  async reconcile(totals: ReadonlyMap<string, number>): Promise<void> {
    if (totals.size === 0) return;
    const now = this.options.clock.now();
    const rows = [...totals].map(([key, total]) => ({ key, settled_usd: total, updated_at: now }));
    await this.db
      .insertInto("budget_counters")
      .values(rows)
      .onConflict((oc) =>
        oc
          .column("key")
          .doUpdateSet({
            settled_usd: sql<number>`greatest(budget_counters.settled_usd, excluded.settled_usd)`,
            updated_at: now,
          })
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom("budget_reservations")
                  .select("budget_reservations.id")
                  .whereRef("budget_reservations.key", "=", "budget_counters.key")
                  .where("budget_reservations.expires_at", ">", now),
              ),
            ),
          ),
      )
      .execute();
  }

  /** Settled + reserved as this instance last read or changed it (other instances' later changes are not seen). */
  used(key: string): number {
    return this.seen.get(key) ?? 0;
  }

  /** Reads the shared value now: settled + unexpired reservations. */
  async read(key: string): Promise<number> {
    const now = this.options.clock.now();
    const counter = await this.db.selectFrom("budget_counters").select("settled_usd").where("key", "=", key).executeTakeFirst();
    const reserved = await this.db
      .selectFrom("budget_reservations")
      .select((eb) => eb.fn.sum<number>("amount_usd").as("total"))
      .where("key", "=", key)
      .where("expires_at", ">", now)
      .executeTakeFirst();
    const value = (counter?.settled_usd ?? 0) + Number(reserved?.total ?? 0);
    this.seen.set(key, value);
    return value;
  }

  prune(isLive: (key: string) => boolean): void {
    for (const key of this.seen.keys()) if (!isLive(key)) this.seen.delete(key);
    void this.pruneShared(isLive);
  }

  private async pruneShared(isLive: (key: string) => boolean): Promise<void> {
    const now = this.options.clock.now();
    try {
      await this.db.deleteFrom("budget_reservations").where("expires_at", "<=", now).execute();
      const keys = await this.db.selectFrom("budget_counters").select("key").execute();
      const dead = keys.map((r) => r.key).filter((key) => !isLive(key));
      for (let i = 0; i < dead.length; i += 500) await this.db.deleteFrom("budget_counters").where("key", "in", dead.slice(i, i + 500)).execute();
    } catch (err) {
      this.options.logger.warn({ err: describeError(err) }, "pruning shared budget counters failed; will retry at the next prune");
    }
  }

  private reservation(rowId: string, keys: string[], amountUsd: number): SharedReservation {
    return { id: this.reservationSeq++, rowId, keys, amountUsd };
  }
}
